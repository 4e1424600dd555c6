"""Channel adapters: translate between a platform and the core's messages, and send."""
