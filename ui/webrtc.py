"""Live-microphone networking: STUN/TURN servers from the operator's settings, and whether the tab streams.

A browser behind a NAT reaches a hosted server's WebRTC endpoint only through a TURN relay;
Streamlit Community Cloud has needed one since 2023 (whitphx/streamlit-webrtc#1213, #1226),
and without it the stream spins on "Connection is taking longer than expected" for ever.
The operator names the servers in the ``[webrtc]`` section of Streamlit's secrets or in
environment variables; where both give a setting, the environment variable wins:

- ``ice_servers`` / ``SER_WEBRTC_ICE_SERVERS``: a JSON list of ``{"urls", "username", "credential"}``
  (in the secrets also a TOML array of tables);
- ``stun_urls`` / ``SER_STUN_URLS``: ``stun:host[:port]`` URLs, comma-separated (or a TOML list);
- ``turn_urls`` / ``SER_TURN_URLS``: ``turn:``/``turns:`` URLs, with ``turn_username`` /
  ``SER_TURN_USERNAME`` and ``turn_credential`` / ``SER_TURN_CREDENTIAL``;
- ``turn_credentials_url`` / ``SER_TURN_CREDENTIALS_URL``: a provider's endpoint answering
  short-lived ICE servers as JSON (fetched on first use, reused for a few minutes);
- ``ice_transport_policy`` / ``SER_WEBRTC_ICE_TRANSPORT_POLICY``: ``all`` (default) or ``relay``.

Both sides of the connection get the servers: the browser through
``frontend_rtc_configuration``, the server's aiortc through ``server_rtc_configuration``.
``relay`` reaches the browser only (streamlit-webrtc passes nothing but ``iceServers`` to
aiortc); that is enough to force the relay, since every candidate pair then has a relayed
browser end. With none of these settings streamlit-webrtc keeps its own defaults, including
its ``CLOUDFLARE_TURN_KEY_ID``/``TWILIO_ACCOUNT_SID``/``HF_TOKEN`` providers.

Errors name the setting, never its value: a malformed setting's warning reaches every
visitor, and its value may hold a credential, an internal host or a typo in one.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from ser_core.errors import DownloadError, InputError, OfflineError

#: Each setting's key in the ``[webrtc]`` secrets section and its environment variable.
SETTINGS: dict[str, str] = {
    "ice_servers": "SER_WEBRTC_ICE_SERVERS",
    "stun_urls": "SER_STUN_URLS",
    "turn_urls": "SER_TURN_URLS",
    "turn_username": "SER_TURN_USERNAME",
    "turn_credential": "SER_TURN_CREDENTIAL",
    "turn_credentials_url": "SER_TURN_CREDENTIALS_URL",
    "ice_transport_policy": "SER_WEBRTC_ICE_TRANSPORT_POLICY",
}
SECRETS_SECTION = "webrtc"
ICE_TRANSPORT_POLICIES = ("all", "relay")
#: Environment variables with which streamlit-webrtc fetches TURN credentials by itself
#: (``streamlit_webrtc.credentials.get_available_ice_servers``) when given no ICE servers.
LIBRARY_PROVIDERS: dict[str, tuple[str, ...]] = {
    "Cloudflare": ("CLOUDFLARE_TURN_KEY_ID", "CLOUDFLARE_TURN_KEY_API_TOKEN"),
    "Twilio": ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"),
    "Hugging Face": ("HF_TOKEN",),
}
#: Seconds a TURN provider's answer (or its failure) is reused before asking again.
PROVIDER_CACHE_S = 300
#: Seconds to wait for a TURN credentials provider before giving up on it.
PROVIDER_TIMEOUT_S = 3.0
#: Where the visitor goes when the live stream cannot work here: the first tab's recorder.
RECORD_HINT = ("Record a clip instead: the **Upload or record** tab records in your browser "
               "and needs no live connection.")

# RFC 7064 (stun:, stuns:) and RFC 7065 (turn:, turns:, with ?transport=udp|tcp), as aiortc parses them.
_STUN_URL = re.compile(r"stuns?:[^?:\s/]+(:[0-9]{1,5})?")
_TURN_URL = re.compile(r"turns?:[^?:\s/]+(:[0-9]{1,5})?(\?transport=(udp|tcp))?")


@dataclass(frozen=True)
class IceSettings:
    """Checked ICE settings: the servers both ends use and the browser's transport policy.

    ``ice_servers`` are ``{"urls": [...], "username": ..., "credential": ...}`` dicts (the
    last two only for TURN). ``library_provider`` names the streamlit-webrtc provider whose
    environment variables are set; it supplies the servers only when ``ice_servers`` is empty.
    """

    ice_servers: tuple[dict, ...] = ()
    credentials_url: str | None = None
    ice_transport_policy: str = "all"
    library_provider: str | None = None

    @property
    def has_turn(self) -> bool:
        """True when the connection can go through a TURN relay."""
        if self.ice_servers:
            return any(url.startswith("turn") for server in self.ice_servers for url in server["urls"])
        return self.library_provider is not None

    def with_servers(self, servers) -> IceSettings:
        """These settings with more ICE servers (e.g. a provider's) appended."""
        return replace(self, ice_servers=self.ice_servers + tuple(servers))


@dataclass(frozen=True)
class LiveTabState:
    """What the live tab does: stream, or explain (in ``message``) why it cannot here."""

    streams: bool
    message: str | None = None


def _setting(key: str, *, secrets: Mapping, environ: Mapping) -> tuple[Any, str]:
    """A setting's value (None when unset or empty) and the name to quote in a message."""
    name = SETTINGS[key]
    value = environ.get(name)
    if value is not None and str(value).strip():
        return str(value).strip(), name
    secret_name = f"{SECRETS_SECTION}.{key} in the secrets"
    value = secrets.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, f"{name} (or {secret_name})"
    return value, secret_name


def _url_list(value, *, name: str) -> list[str]:
    """A comma/space separated string or a list of URLs as a list of stripped strings."""
    if isinstance(value, str):
        return [u for u in re.split(r"[\s,]+", value) if u]
    if isinstance(value, (list, tuple)) and all(isinstance(u, str) for u in value):
        return [u.strip() for u in value if u.strip()]
    raise InputError(f"{name} is a {type(value).__name__}; expected URLs as a comma-separated string or a list")


def _check_urls(urls: list[str], *, name: str, kinds: tuple[str, ...]) -> list[str]:
    patterns = {"stun": (_STUN_URL, "stun:host[:port] or stuns:host[:port]"),
                "turn": (_TURN_URL, "turn:host[:port][?transport=udp|tcp] or turns:host[:port]")}
    for number, url in enumerate(urls, start=1):
        if not any(patterns[kind][0].fullmatch(url) for kind in kinds):
            expected = " or ".join(patterns[kind][1] for kind in kinds)
            raise InputError(f"{name} holds an entry ({number} of {len(urls)}) that is not a "
                             f"{'/'.join(k.upper() for k in kinds)} URL; expected {expected}")
    return urls


def ice_server(entry, *, name: str) -> dict:
    """One ICE server from a JSON/TOML entry, checked: TURN URLs need a username and a credential.

    Accepts ``urls`` or the older ``url`` (Twilio's answers carry both); keeps only
    ``urls``, ``username`` and ``credential``.
    """
    if not isinstance(entry, Mapping):
        raise InputError(f"{name} holds a {type(entry).__name__}; expected an object with \"urls\"")
    urls = entry.get("urls", entry.get("url"))
    if not urls:
        raise InputError(f"{name} holds an ICE server without \"urls\"")
    urls = _check_urls(_url_list(urls, name=name), name=name, kinds=("stun", "turn"))
    server: dict = {"urls": urls}
    if any(url.startswith("turn") for url in urls):
        for field in ("username", "credential"):
            if not isinstance(entry.get(field), str) or not entry[field]:
                raise InputError(f"{name} holds a TURN server without a \"{field}\"; "
                                 "TURN needs a username and a credential")
            server[field] = entry[field]
    return server


def _ice_server_list(value, *, name: str) -> list[dict]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            # The message quotes the position only: the text may hold credentials.
            raise InputError(f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}); "
                             'expected a list such as [{"urls": "stun:stun.example.org:3478"}]') from None
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise InputError(f"{name} is a {type(value).__name__}; expected a list of ICE servers")
    return [ice_server(entry, name=name) for entry in value]


def read_settings(*, secrets: Mapping | None = None, environ: Mapping | None = None) -> IceSettings:
    """The operator's ICE settings from a ``[webrtc]`` secrets section and the environment.

    Parameters
    ----------
    secrets
        The ``[webrtc]`` section (lower-case keys, see :data:`SETTINGS`); None for none.
    environ
        Environment variables; ``os.environ`` when None. They win over ``secrets``.

    Raises
    ------
    InputError
        A setting is malformed; the message names it (never its value, if secret).

    Examples
    --------
    >>> s = read_settings(environ={"SER_TURN_URLS": "turn:turn.example.org:3478",
    ...                            "SER_TURN_USERNAME": "u", "SER_TURN_CREDENTIAL": "p"})
    >>> s.has_turn, s.ice_servers[0]["urls"]
    (True, ['turn:turn.example.org:3478'])
    """
    secrets = {} if secrets is None else secrets
    if not isinstance(secrets, Mapping):
        raise InputError(f"the secret {SECRETS_SECTION} is a {type(secrets).__name__}; "
                         f"expected a [{SECRETS_SECTION}] section")
    environ = os.environ if environ is None else environ
    value = {key: _setting(key, secrets=secrets, environ=environ) for key in SETTINGS}

    servers: list[dict] = []
    raw, name = value["ice_servers"]
    if raw is not None:
        servers += _ice_server_list(raw, name=name)
    raw, name = value["stun_urls"]
    if raw is not None:
        servers.append({"urls": _check_urls(_url_list(raw, name=name), name=name, kinds=("stun",))})

    servers += _turn_servers(value["turn_urls"], username=value["turn_username"], credential=value["turn_credential"])
    credentials_url = _credentials_url(*value["turn_credentials_url"])

    policy, name = value["ice_transport_policy"]
    policy = "all" if policy is None else str(policy).strip().lower()
    if policy not in ICE_TRANSPORT_POLICIES:
        raise InputError(f"{name} is not one of {', '.join(ICE_TRANSPORT_POLICIES)}")

    return IceSettings(ice_servers=tuple(servers), credentials_url=credentials_url,
                       ice_transport_policy=policy, library_provider=library_provider(environ))


def _turn_servers(turn_urls: tuple[Any, str], *, username: tuple[Any, str], credential: tuple[Any, str]) -> list[dict]:
    """The TURN server of the ``turn_urls`` setting with its username and credential (each ``(value, name)``)."""
    (raw, name), (user, username_name), (secret, credential_name) = turn_urls, username, credential
    if raw is None:
        if user is not None or secret is not None:
            raise InputError(f"{username_name if user is not None else credential_name} is set but "
                             f"{name} is not; name the TURN servers they belong to")
        return []
    urls = _check_urls(_url_list(raw, name=name), name=name, kinds=("turn",))
    for field, field_name in ((user, username_name), (secret, credential_name)):
        if field is None:
            raise InputError(f"{field_name} is not set; the TURN servers in {name} "
                             "need a username and a credential")
    return [{"urls": urls, "username": str(user), "credential": str(secret)}]


def _credentials_url(value, name: str) -> str | None:
    """The TURN provider's credentials endpoint, checked to be an http(s) URL (None when unset)."""
    if value is None:
        return None
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{name} is not an http(s) URL; expected the provider's endpoint, "
                         "e.g. https://<app>.metered.live/api/v1/turn/credentials?apiKey=...")
    return str(value)


def library_provider(environ: Mapping | None = None) -> str | None:
    """The streamlit-webrtc TURN provider whose environment variables are all set, if any."""
    environ = os.environ if environ is None else environ
    return next((provider for provider, names in LIBRARY_PROVIDERS.items()
                 if all(environ.get(name) for name in names)), None)


def fetch_ice_servers(url: str, *, timeout_s: float = PROVIDER_TIMEOUT_S) -> list[dict]:
    """A TURN provider's short-lived ICE servers, from a GET on its credentials endpoint.

    The answer is a JSON list of ICE servers (Metered) or an object holding one under
    ``iceServers`` (Cloudflare) or ``ice_servers`` (Twilio). Messages give the provider's
    host only: the URL usually carries an API key.

    Raises
    ------
    OfflineError
        The provider cannot be reached within ``timeout_s`` seconds.
    DownloadError
        It answered with an HTTP error or with something that is not a list of ICE servers.
    """
    import requests

    host = urlsplit(url).hostname
    what = f"the TURN credentials provider at {host}"
    try:
        response = requests.get(url, timeout=timeout_s, headers={"Accept": "application/json"})
    except requests.Timeout:
        raise OfflineError(f"{what} did not answer within {timeout_s:g} s") from None
    except requests.RequestException:
        # str(exc) would quote the URL and its API key.
        raise OfflineError(f"{what} could not be reached (no network, a wrong host, or the service is down)") \
            from None
    if response.status_code != 200:
        raise DownloadError(f"{what} answered HTTP {response.status_code}; expected 200 with a JSON list "
                            "of ICE servers (check the API key in the URL)")
    try:
        body = response.json()
    except ValueError:
        raise DownloadError(f"{what} answered something that is not JSON; expected a list of ICE servers") \
            from None
    if isinstance(body, Mapping):
        body = body.get("iceServers", body.get("ice_servers"))
    if not isinstance(body, list) or not body:
        raise DownloadError(f"{what} answered JSON without ICE servers; expected a list or an object "
                            "with \"iceServers\"")
    try:
        return [ice_server(entry, name=f"the answer of {what}") for entry in body]
    except InputError as exc:
        raise DownloadError(str(exc)) from None


_provider_answers: dict[str, tuple[float, list[dict], str | None]] = {}
_provider_lock = threading.Lock()


def provider_ice_servers(url: str, *, clock=time.monotonic) -> list[dict]:
    """A TURN provider's ICE servers, fetched at most once per ``PROVIDER_CACHE_S`` per URL in this process.

    A failure is remembered like an answer, so an offline provider costs one timeout per
    period instead of one per page run; it raises ``DownloadError`` with the same message.
    """
    with _provider_lock:  # one fetch at a time: visitors arriving together share it
        answer = _provider_answers.get(url)
        if answer is None or clock() - answer[0] >= PROVIDER_CACHE_S:
            try:
                answer = (clock(), fetch_ice_servers(url), None)
            except DownloadError as exc:
                answer = (clock(), [], str(exc))
            _provider_answers[url] = answer
    _, servers, problem = answer
    if problem is not None:
        raise DownloadError(problem)
    return [dict(server) for server in servers]


def streamer_options(settings: IceSettings) -> dict:
    """``webrtc_streamer`` keyword arguments: the browser's and the server's RTC configuration.

    None for either leaves streamlit-webrtc's default (its own STUN or provider servers).
    """
    frontend: dict = {}
    server = None
    if settings.ice_servers:
        servers = [dict(s, urls=list(s["urls"])) for s in settings.ice_servers]
        frontend["iceServers"] = servers
        server = {"iceServers": [dict(s) for s in servers]}
    if settings.ice_transport_policy != "all":
        frontend["iceTransportPolicy"] = settings.ice_transport_policy
    return {"frontend_rtc_configuration": frontend or None, "server_rtc_configuration": server}


def live_tab_state(mode: str, settings: IceSettings) -> LiveTabState:
    """Whether the live tab streams in this hosting ``mode`` ("local" or "public") with these settings.

    Locally the browser reaches the server directly, so the tab streams as it always did.
    A public deploy needs a TURN relay; without one the tab says so and points to Record.
    """
    if mode not in ("local", "public"):
        raise InputError(f"hosting mode is {mode!r}; expected 'local' or 'public'")
    if mode == "local" or settings.has_turn:
        return LiveTabState(streams=True)
    return LiveTabState(streams=False, message=(
        "**The live microphone is not available on this server.** Streaming from your browser to "
        "a hosted app needs a TURN relay, and none is configured here, so the connection would "
        f"never open. {RECORD_HINT}"))


# ---------------------------------------------------------------- the page's side
def _secrets_section() -> Mapping:
    import streamlit as st

    try:
        return st.secrets.get(SECRETS_SECTION) or {}
    except FileNotFoundError:  # no secrets file (Streamlit's error is a FileNotFoundError)
        return {}


def live_connection(*, mode: str) -> dict | None:
    """Read the settings, tell the visitor what they must know; ``webrtc_streamer`` options, or None.

    None means the stream cannot connect here: the call has shown why and pointed to Record.
    A malformed setting or an unreachable provider becomes a warning that names the
    setting; the settings are then ignored, as if unset.
    """
    import streamlit as st

    from ui.hosting import redact

    try:
        settings = read_settings(secrets=_secrets_section())
    except InputError as exc:
        st.warning(f"The live microphone's connection settings are ignored: {redact(str(exc))}.",
                   icon=":material/warning:")
        settings = IceSettings(library_provider=library_provider())
    if settings.credentials_url:
        try:
            settings = settings.with_servers(provider_ice_servers(settings.credentials_url))
        except DownloadError as exc:
            st.warning(f"No TURN credentials from the provider: {redact(str(exc))}.", icon=":material/warning:")
    state = live_tab_state(mode, settings)
    if not state.streams:
        st.info(state.message, icon=":material/cloud_off:")
        return None
    return streamer_options(settings)
