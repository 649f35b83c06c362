"""Settings are read once, from the environment, and checked."""

from __future__ import annotations

import pytest

from courier.settings import SettingsError, load_settings

TABLES = {
    "COURIER_CONNECTIONS_TABLE": "c",
    "COURIER_CHANNELS_TABLE": "ch",
    "COURIER_MESSAGES_TABLE": "m",
    "COURIER_MEMBERSHIPS_TABLE": "mb",
    "COURIER_DEDUP_TABLE": "d",
    "COURIER_ACKS_TABLE": "a",
    "COURIER_RETRIES_TABLE": "r",
    "COURIER_NOTIFICATIONS_TABLE": "n",
    "COURIER_PRESENCE_TABLE": "p",
    "COURIER_RETRY_QUEUE_URL": "https://sqs/retry",
    "COURIER_FANOUT_QUEUE_URL": "https://sqs/fanout.fifo",
    "COURIER_NOTIFY_QUEUE_URL": "https://sqs/notify",
    "COURIER_NOTIFY_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:n",
}


def test_defaults_apply_when_only_the_required_settings_are_given() -> None:
    settings = load_settings({**TABLES, "COURIER_JWT_SECRET": "s"})
    assert (settings.retry_base_seconds, settings.max_retries) == (2, 5)
    assert (settings.retention_days, settings.dedup_hours) == (365, 48)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"COURIER_MESSAGES_TABLE": ""}, "COURIER_MESSAGES_TABLE"),
        ({"COURIER_JWT_SECRET": ""}, "COURIER_JWT_SECRET"),
        ({"COURIER_MAX_RETRIES": "many"}, "COURIER_MAX_RETRIES"),
        ({"COURIER_DEDUP_HOURS": "1"}, "COURIER_DEDUP_HOURS"),
        ({"COURIER_RETRY_BASE_SECONDS": "0"}, "COURIER_RETRY_BASE_SECONDS"),
    ],
)
def test_a_bad_environment_is_refused_at_cold_start(change: dict[str, str], complaint: str) -> None:
    env = {**TABLES, "COURIER_JWT_SECRET": "s", **change}
    with pytest.raises(SettingsError, match=complaint):
        load_settings(env)
