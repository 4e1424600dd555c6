"""The loyalty domain: members, points, tiers, coupons, surveys and the funnel."""
