FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY . .
# Editable install: the app runs from /app, where templates/ and static/ live.
RUN pip install --no-cache-dir -e . \
 && DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["gunicorn", "erp.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
