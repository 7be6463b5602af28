"""Email channels: plain-text mail through the service's SMTP server or the channel's own."""

from __future__ import annotations

import smtplib
import ssl
from contextlib import suppress
from email.message import EmailMessage
from email.utils import make_msgid

from marshmallow import fields, validate

from shared.notifications.channels.base import ChannelType, DeliveryError, DeliveryJob, Sent, channel_types
from shared.notifications.messages import _one_line, email_text
from shared.platform.outbound import BlockedDestination
from shared.platform.schemas import Closed
from shared.platform.settings import PREFIX, TLS_MODES


class SmtpSchema(Closed):
    host = fields.String(required=True, validate=validate.Length(min=1, max=253))
    port = fields.Integer(load_default=587, validate=validate.Range(min=1, max=65535))
    username = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    password = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    tls = fields.String(load_default="starttls", validate=validate.OneOf(TLS_MODES))
    from_address = fields.Email(load_default=None, allow_none=True)


class EmailConfigSchema(Closed):
    recipients = fields.List(fields.Email(), required=True, validate=validate.Length(min=1, max=50))
    smtp = fields.Nested(SmtpSchema, load_default=None, allow_none=True)


@channel_types.register("email")
class EmailChannel(ChannelType):
    """Plain-text mail through the service's SMTP server, or through the channel's own."""

    schema = EmailConfigSchema

    def split(self, config: dict, stored_secrets: dict) -> tuple[dict, dict]:
        smtp = config.get("smtp")
        if not smtp:
            return {"recipients": config["recipients"], "smtp": None}, {}
        public = {key: value for key, value in smtp.items() if key != "password"}
        public["password_set"] = bool(smtp.get("password"))
        secret = {"smtp_password": smtp["password"]} if smtp.get("password") else {}
        return {"recipients": config["recipients"], "smtp": public}, secret

    def full_config(self, public: dict, stored_secrets: dict) -> dict:
        smtp = public.get("smtp")
        if smtp:
            smtp = {key: value for key, value in smtp.items() if key != "password_set"}
            smtp["password"] = stored_secrets.get("smtp_password")
        return {"recipients": public["recipients"], "smtp": smtp}

    def merge(self, full: dict, patch: dict) -> dict:
        merged = {**full, **patch}
        old, new = full.get("smtp"), patch.get("smtp")
        if isinstance(new, dict) and old and "password" not in new:
            merged["smtp"] = {**new, "password": old.get("password")}  # an unsent secret is kept
        return merged

    def destinations(self, config: dict) -> list[tuple[str, str, int]]:
        # The service's own SMTP server is the operator's choice; a tenant's override is checked.
        smtp = config.get("smtp")
        return [("config.smtp.host", smtp["host"], smtp["port"])] if smtp else []

    def send(self, job: DeliveryJob) -> Sent:
        settings, message, smtp = job.settings, job.message, job.config.get("smtp")
        if smtp:
            host, port, tls = smtp["host"], smtp["port"], smtp["tls"]
            username, password = smtp.get("username"), smtp.get("password")
            sender = smtp.get("from_address") or settings.smtp_from
        elif settings.smtp_host:
            host, port, tls = settings.smtp_host, settings.smtp_port, settings.smtp_tls
            username, password, sender = settings.smtp_username, settings.smtp_password, settings.smtp_from
        else:
            raise DeliveryError(f"No SMTP server is configured ({PREFIX}SMTP_HOST)", retryable=False)
        mail = EmailMessage()
        mail["Subject"] = f"[PolicyCortex] {message.title}"
        mail["From"] = sender
        mail["To"] = ", ".join(job.config["recipients"])
        mail["Message-ID"] = make_msgid(domain="policycortex")
        mail["X-PolicyCortex-Event"] = job.event
        mail["X-PolicyCortex-Delivery"] = job.public_id
        mail.set_content(email_text(message))
        try:
            if smtp:
                job.guard.check_host(host, port)
            return self._converse(job, mail, host, port, tls, username, password, checked=bool(smtp))
        except BlockedDestination as exc:
            raise DeliveryError(f"Refused: {exc}", retryable=False) from None
        except smtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(sorted(exc.recipients))
            raise DeliveryError(f"The SMTP server refused every recipient: {refused}", retryable=False) from None
        except smtplib.SMTPResponseException as exc:
            reply = _one_line(
                exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
            )[:200]
            # 4xx replies are temporary by definition (RFC 5321); 5xx ones will not change.
            raise DeliveryError(f"SMTP {exc.smtp_code} from {host}: {reply}", retryable=exc.smtp_code < 500) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryError(f"{host} does not support STARTTLS or AUTH as configured", retryable=False) from None
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise DeliveryError(
                f"Could not deliver through {host}:{port} ({type(exc).__name__})", retryable=True
            ) from None

    @staticmethod
    def _converse(
        job: DeliveryJob,
        mail: EmailMessage,
        host: str,
        port: int,
        tls: str,
        username: str | None,
        password: str | None,
        *,
        checked: bool,
    ) -> Sent:
        timeout = job.settings.notify_timeout
        context = ssl.create_default_context()
        if tls == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        try:
            if checked:
                job.guard.check_peer(host, client.sock)
            if tls == "starttls":
                client.starttls(context=context)
            if username:
                client.login(username, password or "")
            refused = client.send_message(mail)
            # The message is accepted now; a failing QUIT must not make it look undelivered.
            with suppress(smtplib.SMTPException, OSError):
                client.quit()
        finally:
            client.close()
        note = f"Refused recipients: {', '.join(sorted(refused))}" if refused else None
        return Sent(250, note)
