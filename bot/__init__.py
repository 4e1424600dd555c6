"""The application: dialogs, web app (webhooks, admin API), scheduled jobs and the CLI."""
