"""ui.webrtc: ICE settings from secrets and environment, a provider's credentials, the live tab's decision."""

import json
import socket

import pytest
from streamlit.testing.v1 import AppTest

from ser_core.errors import DownloadError, InputError, OfflineError
from ui import webrtc
from ui.webrtc import IceSettings, fetch_ice_servers, live_tab_state, read_settings, streamer_options

TURN_ENV = {"SER_TURN_URLS": "turn:turn.example.org:3478, turns:turn.example.org:5349?transport=tcp",
            "SER_TURN_USERNAME": "visitor", "SER_TURN_CREDENTIAL": "hunter2"}
TURN_SERVER = {"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "hunter2"}


def test_turn_from_environment_variables():
    settings = read_settings(environ=TURN_ENV)
    assert settings.ice_servers == ({"urls": ["turn:turn.example.org:3478",
                                              "turns:turn.example.org:5349?transport=tcp"],
                                     "username": "visitor", "credential": "hunter2"},)
    assert settings.has_turn and settings.ice_transport_policy == "all" and settings.credentials_url is None


def test_secrets_section_with_toml_lists_and_tables():
    secrets = {"stun_urls": ["stun:stun.example.org:3478"],
               "ice_servers": [{"urls": "turn:relay.example.org", "username": "u", "credential": "p"}],
               "ice_transport_policy": "relay"}
    settings = read_settings(secrets=secrets, environ={})
    assert settings.ice_servers == ({"urls": ["turn:relay.example.org"], "username": "u", "credential": "p"},
                                    {"urls": ["stun:stun.example.org:3478"]})
    assert settings.has_turn and settings.ice_transport_policy == "relay"


def test_environment_wins_over_secrets_setting_by_setting():
    secrets = {"turn_urls": "turn:from-secrets.example.org", "turn_username": "secret-user",
               "turn_credential": "secret-pass", "ice_transport_policy": "relay"}
    settings = read_settings(secrets=secrets, environ={"SER_TURN_USERNAME": "env-user",
                                                       "SER_WEBRTC_ICE_TRANSPORT_POLICY": " "})
    assert settings.ice_servers == ({"urls": ["turn:from-secrets.example.org"], "username": "env-user",
                                     "credential": "secret-pass"},)
    assert settings.ice_transport_policy == "relay", "an empty variable counts as unset"


def test_json_list_of_ice_servers_in_one_variable():
    servers = [{"urls": "stun:stun.example.org"}, {"url": "turn:relay.example.org:80?transport=tcp",
                                                   "username": "u", "credential": "p", "extra": 1}]
    settings = read_settings(environ={"SER_WEBRTC_ICE_SERVERS": json.dumps(servers)})
    assert settings.ice_servers == ({"urls": ["stun:stun.example.org"]},
                                    {"urls": ["turn:relay.example.org:80?transport=tcp"], "username": "u",
                                     "credential": "p"})


def test_stun_urls_alone_give_no_relay():
    settings = read_settings(environ={"SER_STUN_URLS": "stun:stun.example.org:3478 stun:stun2.example.org"})
    assert settings.ice_servers == ({"urls": ["stun:stun.example.org:3478", "stun:stun2.example.org"]},)
    assert not settings.has_turn


def test_nothing_set_leaves_streamlit_webrtc_defaults():
    settings = read_settings(secrets={}, environ={})
    assert settings == IceSettings()
    assert streamer_options(settings) == {"frontend_rtc_configuration": None, "server_rtc_configuration": None}


@pytest.mark.parametrize(("environ", "has_turn", "provider"), [
    ({"CLOUDFLARE_TURN_KEY_ID": "k", "CLOUDFLARE_TURN_KEY_API_TOKEN": "t"}, True, "Cloudflare"),
    ({"TWILIO_ACCOUNT_SID": "s", "TWILIO_AUTH_TOKEN": "t"}, True, "Twilio"),
    ({"HF_TOKEN": "t"}, True, "Hugging Face"),
    ({"TWILIO_ACCOUNT_SID": "s"}, False, None),  # half a pair: streamlit-webrtc ignores it too
    # our own servers replace streamlit-webrtc's: STUN alone is then no relay
    ({"HF_TOKEN": "t", "SER_STUN_URLS": "stun:stun.example.org"}, False, "Hugging Face"),
])
def test_streamlit_webrtc_providers_count_as_turn_only_without_our_servers(environ, has_turn, provider):
    settings = read_settings(environ=environ)
    assert settings.library_provider == provider and settings.has_turn is has_turn


def test_streamer_options_give_both_sides_the_servers_and_the_browser_the_policy():
    from aiortc.rtcicetransport import connection_kwargs
    from streamlit_webrtc.config import compile_rtc_configuration

    settings = read_settings(environ={**TURN_ENV, "SER_STUN_URLS": "stun:stun.example.org:19302",
                                      "SER_WEBRTC_ICE_TRANSPORT_POLICY": "RELAY"})
    options = streamer_options(settings)
    frontend, server = options["frontend_rtc_configuration"], options["server_rtc_configuration"]
    assert frontend["iceTransportPolicy"] == "relay" and "iceTransportPolicy" not in server
    assert frontend["iceServers"] == server["iceServers"] == [dict(s) for s in settings.ice_servers]
    # what the server side makes of it, through streamlit-webrtc and aiortc
    aiortc_kwargs = connection_kwargs(compile_rtc_configuration(server).iceServers)
    assert aiortc_kwargs["stun_server"] == ("stun.example.org", 19302)
    assert aiortc_kwargs["turn_server"] == ("turn.example.org", 3478)
    assert (aiortc_kwargs["turn_username"], aiortc_kwargs["turn_password"]) == ("visitor", "hunter2")


BAD_SETTINGS = [
    # (environment, secrets, words the message must contain)
    ({"SER_TURN_URLS": "turn:t.example.org", "SER_TURN_USERNAME": "u"}, {},
     ["SER_TURN_CREDENTIAL (or webrtc.turn_credential in the secrets) is not set",
      "the TURN servers in SER_TURN_URLS need a username and a credential"]),
    ({}, {"turn_urls": "turn:t.example.org", "turn_credential": "hunter2"},
     ["SER_TURN_USERNAME (or webrtc.turn_username in the secrets) is not set",
      "TURN servers in webrtc.turn_urls in the secrets"]),
    ({"SER_TURN_CREDENTIAL": "hunter2"}, {}, ["SER_TURN_CREDENTIAL is set but SER_TURN_URLS (or webrtc.turn_urls in the secrets) is not"]),
    ({"SER_WEBRTC_ICE_SERVERS": '[{"urls": "turn:t.example.org", "username": "u", "credential": "hunter2"'},
     {}, ["SER_WEBRTC_ICE_SERVERS is not valid JSON", "column"]),
    ({"SER_WEBRTC_ICE_SERVERS": '"stun:stun.example.org"'}, {}, ["SER_WEBRTC_ICE_SERVERS is a str"]),
    ({"SER_WEBRTC_ICE_SERVERS": '[{"urls": "turn:t.example.org", "username": "u"}]'}, {},
     ["SER_WEBRTC_ICE_SERVERS", "without a \"credential\""]),
    ({"SER_WEBRTC_ICE_SERVERS": '[{"username": "u", "credential": "hunter2"}]'}, {}, ["without \"urls\""]),
    ({"SER_STUN_URLS": "stun.example.org:3478"}, {}, ["SER_STUN_URLS holds an entry (1 of 1) that is not",
                                                      "expected stun:host[:port]"]),
    ({"SER_STUN_URLS": "turn:t.example.org"}, {}, ["not a STUN URL"]),
    ({"SER_TURN_URLS": "turn:t.example.org?transport=sctp", "SER_TURN_USERNAME": "u",
      "SER_TURN_CREDENTIAL": "hunter2"}, {}, ["SER_TURN_URLS", "?transport=udp|tcp"]),
    ({}, {"stun_urls": 3478}, ["webrtc.stun_urls in the secrets is a int"]),
    ({"SER_WEBRTC_ICE_TRANSPORT_POLICY": "direct"}, {}, ["SER_WEBRTC_ICE_TRANSPORT_POLICY is not", "one of all, relay"]),
    ({"SER_TURN_CREDENTIALS_URL": "ftp://provider.example.org/hunter2"}, {},
     ["SER_TURN_CREDENTIALS_URL is not an http(s) URL"]),
]


@pytest.mark.parametrize(("environ", "secrets", "words"), BAD_SETTINGS)
def test_bad_settings_name_the_setting_never_the_secret(environ, secrets, words):
    with pytest.raises(InputError) as error:
        read_settings(secrets=secrets, environ=environ)
    message = str(error.value)
    assert all(w in message for w in words), message
    assert "hunter2" not in message


@pytest.mark.parametrize(("environ", "secrets", "setting"), [
    ({"SER_STUN_URLS": "bogus://secret-host.example:1"}, {}, "SER_STUN_URLS"),
    ({"SER_STUN_URLS": "stun:ok.example.org stun.secret-host.example:3478"}, {}, "SER_STUN_URLS"),
    ({}, {"stun_urls": ["turn:secret-host.example"]}, "webrtc.stun_urls in the secrets"),
    ({"SER_TURN_URLS": "turn:secret-host.example?transport=sctp", "SER_TURN_USERNAME": "u",
      "SER_TURN_CREDENTIAL": "c"}, {}, "SER_TURN_URLS"),
    ({"SER_WEBRTC_ICE_SERVERS": '[{"urls": "turn:secret-host.example", "username": "u"}]'}, {},
     "SER_WEBRTC_ICE_SERVERS"),
    ({"SER_WEBRTC_ICE_SERVERS": '[{"urls": "secret-host.example"}]'}, {}, "SER_WEBRTC_ICE_SERVERS"),
    ({"SER_WEBRTC_ICE_TRANSPORT_POLICY": "secret-policy"}, {}, "SER_WEBRTC_ICE_TRANSPORT_POLICY"),
    ({"SER_TURN_CREDENTIALS_URL": "ftp://secret-host.example/key"}, {}, "SER_TURN_CREDENTIALS_URL"),
])
def test_a_malformed_setting_is_named_and_its_value_never_echoed(environ, secrets, setting):
    """Every visitor sees this warning on the Predict page: it may name the setting, never repeat its value."""
    with pytest.raises(InputError) as error:
        read_settings(secrets=secrets, environ=environ)
    message = str(error.value)
    assert setting in message and "secret" not in message.replace("in the secrets", ""), message


def test_a_secret_that_is_not_a_section():
    with pytest.raises(InputError, match=r"the secret webrtc is a str; expected a \[webrtc\] section"):
        read_settings(secrets="turn:t.example.org", environ={})


@pytest.mark.parametrize("url", ["stun:stun.l.google.com:19302", "stuns:stun.example.org", "turn:10.0.0.1",
                                 "turn:turn.example.org:80?transport=tcp", "turns:turn.example.org:443"])
def test_every_accepted_url_is_one_aiortc_parses(url):
    from aiortc.rtcicetransport import parse_stun_turn_uri

    server = {"urls": url, "username": "u", "credential": "p"}
    assert webrtc.ice_server(server, name="x")["urls"] == [url]
    assert parse_stun_turn_uri(url)["host"] in url


# ---------------------------------------------------------------- a provider's short-lived credentials
PROVIDER_ANSWERS = [
    ([TURN_SERVER], [TURN_SERVER]),  # Metered: a plain list
    ({"iceServers": [{"urls": "stun:stun.cloudflare.com:3478"}, TURN_SERVER]},  # Cloudflare
     [{"urls": ["stun:stun.cloudflare.com:3478"]}, TURN_SERVER]),
    ({"ice_servers": [{"url": "turn:global.turn.twilio.com:3478?transport=udp",  # Twilio
                       "urls": "turn:global.turn.twilio.com:3478?transport=udp", "username": "u",
                       "credential": "hunter2"}], "ttl": "86400"},
     [{"urls": ["turn:global.turn.twilio.com:3478?transport=udp"], "username": "u", "credential": "hunter2"}]),
]


@pytest.mark.parametrize(("answer", "servers"), PROVIDER_ANSWERS, ids=["list", "iceServers", "ice_servers"])
def test_provider_answers_become_ice_servers(http_file_server, answer, servers):
    http_file_server.files["credentials"] = json.dumps(answer).encode()
    assert fetch_ice_servers(http_file_server.url("credentials?apiKey=k3y")) == servers
    assert http_file_server.requests == [("credentials", None)]


@pytest.mark.parametrize(("body", "words"), [
    (None, ["answered HTTP 404", "check the API key"]),
    (b"<html>quota exceeded</html>", ["not JSON"]),
    (b"[]", ["without ICE servers"]),
    (b'{"error": "bad key"}', ["without ICE servers"]),
    (b'[{"urls": "turn:t.example.org"}]', ["without a \"username\""]),
])
def test_bad_provider_answers_are_clear(http_file_server, body, words):
    if body is not None:
        http_file_server.files["credentials"] = body
    with pytest.raises(DownloadError) as error:
        fetch_ice_servers(http_file_server.url("credentials?apiKey=k3y"))
    message = str(error.value)
    assert "the TURN credentials provider at 127.0.0.1" in message and all(w in message for w in words), message
    assert "k3y" not in message


def test_offline_provider_is_a_clear_message_without_the_key():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OfflineError, match="could not be reached") as error:
        fetch_ice_servers(f"http://127.0.0.1:{port}/credentials?apiKey=k3y", timeout_s=2.0)
    assert "k3y" not in str(error.value)


def test_silent_provider_times_out():
    with socket.socket() as s:  # listens (so the connection opens) but never answers
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(OfflineError, match=r"did not answer within 0.3 s"):
            fetch_ice_servers(f"http://127.0.0.1:{s.getsockname()[1]}/c?apiKey=k3y", timeout_s=0.3)


# ---------------------------------------------------------------- the live tab's decision
@pytest.mark.parametrize(("mode", "settings", "streams"), [
    ("local", IceSettings(), True),  # as before: the browser reaches the server directly
    ("local", IceSettings(ice_servers=({"urls": ["stun:stun.example.org"]},)), True),
    ("public", IceSettings(), False),
    ("public", IceSettings(ice_servers=({"urls": ["stun:stun.example.org"]},)), False),
    ("public", IceSettings(ice_servers=(TURN_SERVER,)), True),
    ("public", IceSettings(library_provider="Cloudflare"), True),
])
def test_live_tab_state(mode, settings, streams):
    state = live_tab_state(mode, settings)
    assert state.streams is streams
    if streams:
        assert state.message is None
    else:
        assert "TURN relay" in state.message and "**Upload or record**" in state.message
        assert "Record a clip instead" in state.message


def test_live_tab_state_rejects_an_unknown_mode():
    with pytest.raises(InputError, match="hosting mode is 'cloud'; expected 'local' or 'public'"):
        live_tab_state("cloud", IceSettings())


def _connection_app(mode):
    import streamlit as st

    from ui.webrtc import live_connection

    st.write(f"options: {live_connection(mode=mode)!r}")


def _run(mode, *, secrets=None):
    at = AppTest.from_function(_connection_app, args=(mode,), default_timeout=120)
    if secrets is not None:
        at.secrets["webrtc"] = secrets
    return at.run()


def _shown(at) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "info", "warning", "error", "exception")
                    for e in getattr(at, kind))


@pytest.fixture
def no_webrtc_env(monkeypatch):
    for name in [*webrtc.SETTINGS.values(), *(n for names in webrtc.LIBRARY_PROVIDERS.values() for n in names)]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_public_without_turn_explains_and_points_to_record(no_webrtc_env):
    at = _run("public")
    assert at.exception == [] and at.warning == []
    assert [i.value for i in at.info] == [live_tab_state("public", IceSettings()).message]
    assert at.markdown[-1].value == "options: None"


def test_local_without_settings_streams_as_before(no_webrtc_env):
    at = _run("local")
    assert at.exception == [] and at.info == [] and at.warning == []
    assert at.markdown[-1].value == ("options: {'frontend_rtc_configuration': None, "
                                     "'server_rtc_configuration': None}")


def test_public_with_turn_in_the_secrets_streams(no_webrtc_env):
    at = _run("public", secrets={"turn_urls": "turn:turn.example.org", "turn_username": "u",
                                 "turn_credential": "hunter2", "ice_transport_policy": "relay"})
    assert at.exception == [] and at.info == [] and at.warning == []
    assert "'iceTransportPolicy': 'relay'" in at.markdown[-1].value


def test_bad_setting_is_a_warning_naming_it_and_never_the_credential(no_webrtc_env):
    no_webrtc_env.setenv("SER_WEBRTC_ICE_SERVERS", '[{"urls": "turn:t.example.org", "credential": "hunter2"}]')
    at = _run("public")
    assert at.exception == []
    assert [w.value for w in at.warning] == [
        "The live microphone's connection settings are ignored: SER_WEBRTC_ICE_SERVERS holds a TURN server "
        "without a \"username\"; TURN needs a username and a credential."]
    assert "hunter2" not in _shown(at) and "t.example.org" not in _shown(at)
    assert "Record a clip instead" in _shown(at), "ignored settings leave a public deploy without TURN"


def test_ignored_settings_keep_streamlit_webrtcs_own_provider(no_webrtc_env):
    no_webrtc_env.setenv("SER_WEBRTC_ICE_TRANSPORT_POLICY", "direct")
    no_webrtc_env.setenv("HF_TOKEN", "hf_hunter2")
    at = _run("public")
    assert at.exception == [] and at.info == []
    assert [w.value for w in at.warning] == [
        "The live microphone's connection settings are ignored: SER_WEBRTC_ICE_TRANSPORT_POLICY is not one of "
        "all, relay."]
    assert at.markdown[-1].value == ("options: {'frontend_rtc_configuration': None, "
                                     "'server_rtc_configuration': None}")


def test_offline_provider_warns_and_falls_back_to_static_servers(no_webrtc_env):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    no_webrtc_env.setenv("SER_TURN_CREDENTIALS_URL", f"http://127.0.0.1:{port}/credentials?apiKey=k3y")
    no_webrtc_env.setenv("SER_STUN_URLS", "stun:stun.example.org")
    at = _run("local")
    assert at.exception == []
    assert [w.value for w in at.warning] == [
        "No TURN credentials from the provider: the TURN credentials provider at 127.0.0.1 could not be "
        "reached (no network, a wrong host, or the service is down)."]
    assert "'iceServers': [{'urls': ['stun:stun.example.org']}]" in at.markdown[-1].value
    assert "k3y" not in _shown(at)


def test_a_turn_provider_is_asked_once_per_period_even_when_it_fails(monkeypatch):
    calls, now = [], [1000.0]

    def offline(url, **kwargs):
        calls.append(url)
        raise OfflineError("the TURN credentials provider at turn.invalid could not be reached")

    monkeypatch.setattr(webrtc, "fetch_ice_servers", offline)
    url = "https://turn.invalid/credentials?apiKey=once"
    for _ in range(2):
        with pytest.raises(DownloadError, match="could not be reached"):
            webrtc.provider_ice_servers(url, clock=lambda: now[0])
    assert len(calls) == 1, "a failure is remembered like an answer"
    monkeypatch.setattr(webrtc, "fetch_ice_servers", lambda url, **kwargs: [{"urls": ["stun:s.example.org"]}])
    now[0] += webrtc.PROVIDER_CACHE_S - 1
    with pytest.raises(DownloadError):
        webrtc.provider_ice_servers(url, clock=lambda: now[0])
    now[0] += 1  # the period is over: asked again
    assert webrtc.provider_ice_servers(url, clock=lambda: now[0]) == [{"urls": ["stun:s.example.org"]}]

