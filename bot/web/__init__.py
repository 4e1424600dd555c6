"""The web application: webhooks of every configured channel, health, metrics and the
admin API, with the senders, inbox and scheduler run in its lifespan.
"""

from bot.web.app import create_app, worker_app

__all__ = [
    "create_app",
    "worker_app",
]
