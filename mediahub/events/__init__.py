"""The event outbox: every domain writes events here (``outbox.emit``); webhooks and streams read them."""
