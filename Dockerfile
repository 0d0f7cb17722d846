FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
# The CJK font the packing and picking list PDFs embed (Noto Sans CJK), from the distribution.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk && rm -rf /var/lib/apt/lists/*
COPY . .
# Editable install: the app runs from /app, where templates/ and static/ live.
# collectstatic loads the settings, which refuse to start without secrets: throwaway ones, made here,
# used by this one command and kept nowhere (the real ones come from the environment at run time).
RUN pip install --no-cache-dir -e . \
 && python -m erp.catalogue \
 && DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    RELAY_FERNET_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["gunicorn", "erp.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
