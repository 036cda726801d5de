# Frontdesk: one image for web (gunicorn), the Celery worker and Celery beat.
# Dependencies come from uv.lock exactly (--frozen); the build fails if the lock is stale.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

# Keep in step with UV_VERSION in scripts/bootstrap_uv.py.
RUN pip install --no-cache-dir uv==0.13.9

WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

COPY . .
# collectstatic needs the settings to load; these values exist only for this build step.
RUN DEBUG=0 SECRET_KEY=collectstatic-only-not-a-real-key FRONTDESK_VAR_DIR=/tmp/build-var \
        /app/.venv/bin/python manage.py collectstatic --no-input -v 0 \
    && rm -rf /tmp/build-var \
    && useradd --system --uid 10001 --home-dir /app frontdesk \
    && mkdir -p /app/var && chown frontdesk /app/var

USER frontdesk
ENV PATH=/app/.venv/bin:$PATH \
    DEBUG=0 \
    PORT=8000
EXPOSE 8000
CMD ["sh", "-c", "exec gunicorn frontdesk.wsgi -c python:frontdesk.gunicorn_conf --bind 0.0.0.0:${PORT} --workers ${WEB_CONCURRENCY:-3}"]
