"""gunicorn's settings for Frontdesk: `gunicorn frontdesk.wsgi -c python:frontdesk.gunicorn_conf`.

Its error and access logs go through frontdesk.logs.Redact, like Django's and Celery's: no
status-page or kiosk-link token and no whole phone number reaches a log.
"""

from frontdesk.logs import gunicorn_logconfig

logconfig_dict = gunicorn_logconfig()
