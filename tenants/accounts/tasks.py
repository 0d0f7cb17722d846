from core.tasks import tenant_task
from tenants.accounts.services import password_reset_send


@tenant_task(name="accounts.send_password_reset", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_password_reset(user_id: int, domain: str, use_https: bool) -> bool:
    return password_reset_send(user_id=user_id, domain=domain, use_https=use_https)
