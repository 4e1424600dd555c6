"""Campaigns in chat: the guided /broadcast, /campaigns, and the buttons campaign messages carry."""
