"""Channel URLs aimed at a recipient, and per-center settings."""

from __future__ import annotations

from datetime import time

import apprise

from motcua.services.notify.channels import target_url
from motcua.services.notify.domain import Channel
from motcua.services.notify.settings import NotifySettings


def test_the_address_goes_into_the_body_of_a_json_gateway_request() -> None:
    url = target_url("json://gw.local:8080/sms", "+84901234567")
    assert url == "json://gw.local:8080/sms?:to=%2B84901234567"
    plugin = apprise.Apprise.instantiate(url)
    assert plugin.payload_extras == {"to": "+84901234567"}


def test_the_address_is_the_mail_recipient() -> None:
    url = target_url("mailto://127.0.0.1:2525?from=a@b.vn&mode=insecure", "an@example.vn")
    plugin = apprise.Apprise.instantiate(url)
    assert [t[1] for t in plugin.targets] == ["an@example.vn"]


def test_a_to_placeholder_puts_the_address_where_the_url_says() -> None:
    assert target_url("form://gw/send?-phone={to}", "+849") == "form://gw/send?-phone=%2B849"


def test_centers_override_channels_and_quiet_hours() -> None:
    s = NotifySettings(
        channels={"sms": "json://default/sms"},
        centers={
            "quiet": {"quiet_hours_start": "22:00", "quiet_hours_end": "06:00"},
            "own": {"channels": {"email": "mailto://x"}},
            "none": {"channels": {}},
        },
    )
    assert s.channels_of("anywhere") == {Channel.SMS: "json://default/sms"}
    assert s.channels_of("own") == {Channel.EMAIL: "mailto://x"}
    assert s.channels_of("none") == {}
    q = s.quiet_hours_of("quiet")
    assert (q.start, q.end) == (time(22), time(6))
    default = s.quiet_hours_of("own")
    assert (default.start, default.end) == (time(21), time(7))
    assert not s.dev_inbox_enabled


def test_the_dev_inbox_is_on_only_when_asked_for_and_only_in_dev_mode() -> None:
    assert not NotifySettings().dev_inbox_enabled  # no channel is no longer enough
    assert NotifySettings(dev_inbox=True, dev_mode=True).dev_inbox_enabled
    assert not NotifySettings(dev_inbox=True, dev_mode=False).dev_inbox_enabled
