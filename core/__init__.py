"""The loyalty domain: members, points, tiers, coupons, surveys and the funnel, free of any channel."""
