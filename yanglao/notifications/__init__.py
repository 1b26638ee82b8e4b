"""The outbox for SMS, voice calls, push messages and e-mail (DESIGN.md: knows no domain).

Other apps call `services.notification_enqueue` inside their own transaction; a worker sends what is
due through the configured gateway (gateways.py) and retries with back-off. See docs/notifications.md.
"""
