"""Customer-base prediction: BG/NBD churn and purchases, Gamma-Gamma value, RFM segments."""
