"""Admin commands in chat: stats, sales, coupons at the counter, grants, member look-up."""
