"""The Predict page's three tabs: one clip (upload or recording), the live microphone, adapting to a voice."""

from contextlib import contextmanager

import streamlit as st

from ser_core.audio.quality import speech_doubt
from ser_core.formatting import markdown_text
from ser_core.modelfolder.prediction import TimelineSummary
from ser_core.reporting import charts
from ser_core.serving.segments import HOP_S, LIVE_HOP_S, LONG_CLIP_S, SEGMENT_S
from ser_core.serving.speakers import MIN_ENROLMENT_CLIPS, RECOMMENDED_ENROLMENT_CLIPS
from ui import cache, exports, hosting, live, prediction, speaker_adaptation, webrtc, widgets

#: Longest upload or recording classified in one go (a clear error beyond it).
MAX_DURATION_S = 600.0
#: Files bigger than this (about a minute of 16-bit 16 kHz audio) are decoded and analysed in
#: the server's long-recording queue (``cache.long_clip_queue``), and played from the decoded audio.
LONG_UPLOAD_BYTES = 2 * 2**20
#: Seconds of the live microphone's timeline drawn.
LIVE_CHART_S = 120.0


#: Predict's tabs, in order; the page runs only the open one (its label is in ``st.session_state[TAB_KEY]``).
TABS = (":material/upload_file: Upload or record", ":material/settings_voice: Live",
        ":material/record_voice_over: Adapt to a voice")
TAB_KEY = "predict_tab"

def clip_tab(model, index) -> None:
    """Classify one uploaded or recorded clip; a long one is told as a timeline."""
    choice = widgets.audio_picker(key="predict", clips=index.clips if index is not None else None,
                                  model_config=model.config)
    if choice is None:
        st.caption(f"Upload a file (wav, mp3, flac, ogg, m4a, webm, at most {MAX_DURATION_S / 60:.0f} minutes) "
                   "or record a few seconds of speech.")
        return
    with widgets.shown_errors(f"Could not classify {choice.name}"):
        long_file = choice.size_bytes() > LONG_UPLOAD_BYTES
        with _long_recording_turn(choice, model, long_file=long_file):
            y, warning = prediction.decode(choice, sample_rate=model.sample_rate, max_duration_s=MAX_DURATION_S)
            with prediction.damage_told(truncated=warning is not None):
                result, timeline = _classify(y, model, name=choice.name)
        if warning:
            st.warning(warning, icon=":material/content_cut:")
        note = prediction.training_clip_note(model, choice)
        if note:
            st.warning(note, icon=":material/school:")
        record = prediction.example_track_record(model, choice)
        if record:
            st.caption(record)
        doubt = speech_doubt(y, sample_rate=model.sample_rate)
        if doubt:  # says more than which members a noisy recording left out
            st.warning(f"This may not be speech. {doubt}", icon=":material/hearing_disabled:")
        elif getattr(result, "warning", None):  # e.g. a gated ensemble member left out of a noisy recording
            st.info(result.warning, icon=":material/graphic_eq:")
        # The verdict first: on a phone the columns stack, and the answer must not sit under the player.
        shown, listen = st.columns([1, 1], gap="large")
        with shown:
            _verdict(result, model=model, true_label=choice.label, doubtful=bool(doubt))
            st.download_button(
                "Download as CSV" if timeline is None else "Download the timeline as CSV",
                exports.prediction_csv(result, timeline=timeline, labels=model.labels),
                file_name=exports.file_name(choice.name), mime=exports.CSV_MIME, key="predict_csv",
                on_click="ignore", icon=":material/download:")
        with listen:
            if long_file:  # played from the decoded audio (16-bit at the model's rate), not a copy of the upload
                widgets.audio(y, label=choice.name, sample_rate=model.sample_rate)
            else:
                widgets.audio(choice.raw_bytes(), label=choice.name)
            color = charts.emotion_palette([result.label])[result.label]
            widgets.chart(charts.waveform(y, sample_rate=model.sample_rate, color=color,
                                          title=f"{choice.name} ({len(y) / model.sample_rate:.1f} s)"),
                          key="predict_wave")
        if timeline is not None:
            _timeline(timeline)


def _classify(y, model, *, name: str):
    """``(prediction, timeline)`` of a decoded clip: a clip over LONG_CLIP_S is told by its timeline's summary."""
    timeline = None
    if len(y) / model.sample_rate > LONG_CLIP_S:
        timeline = cache.timeline(y, model=model, sample_rate=model.sample_rate, name=name)
        summary = timeline.summary()
        if summary.ok:
            return summary, timeline
    return cache.prediction(y, model=model, sample_rate=model.sample_rate).replace(source=name), timeline


@contextmanager
def _long_recording_turn(choice, model, *, long_file: bool):
    """Wait for this visitor's turn in the server's long-recording queue (not for a short clip or a rerun)."""
    done = (choice.name, choice.size_bytes(), model.signature)
    if not long_file or st.session_state.get("predict_long_done") == done:
        yield
        return
    notice = st.empty()

    def waiting(ahead: int) -> None:
        notice.info(f"Your recording is in line: {ahead} long recording(s) from other visitors are analysed "
                    "first, one at a time on this server. It starts by itself.", icon=":material/hourglass_top:")

    with cache.long_clip_queue().slot(on_wait=waiting):
        notice.empty()
        yield
    st.session_state["predict_long_done"] = done


def _verdict(result, *, model=None, true_label: str | None = None, doubtful: bool = False) -> None:
    """The emotion heard (over time for a long clip), the true label when known (✓/✗), how far to trust it, the scores.

    ``doubtful``: the recording may not be speech, so no measured reliability is quoted for its score.
    """
    from ui import examples

    if isinstance(result, TimelineSummary):
        st.markdown(f"### Mostly {widgets.emotion_chip(result.label)}", unsafe_allow_html=True)
        st.caption(f"Heard in {result.share:.0%} of the {result.n_segments} voiced {SEGMENT_S:g}-s windows; "
                   "the bars are the mean score over those windows.")
    else:
        st.markdown(f"### {widgets.emotion_chip(result.label, score=result.score)}", unsafe_allow_html=True)
    check = examples.verdict_check(true_label, result.label, known=model.labels if model is not None else None)
    if check:
        st.markdown(check)
    if doubtful:
        st.caption("The model's record of how often it is right was measured on speech; it does not apply here.")
    elif not isinstance(result, TimelineSummary):
        st.caption(prediction.score_caption(result.score, model=model))
    widgets.chart(charts.probabilities(result.probabilities), key="predict_probs")


def _timeline(timeline) -> None:
    """The emotion of each voiced window of a long clip."""
    st.subheader("Emotion over time")
    voiced = timeline.voiced
    if not voiced:
        st.warning(f"Every {SEGMENT_S:g}-s window was silent or too short to classify.")
        return
    frame = timeline.to_frame().dropna(subset=["label"])
    widgets.chart(charts.emotion_timeline(frame, title=f"Score per {SEGMENT_S:g}-s window"), key="predict_timeline")
    st.caption(f"{len(voiced)} windows of {SEGMENT_S:g} s, one every {HOP_S:g} s; "
               f"{len(timeline) - len(voiced)} silent windows left out.")


def live_tab(model) -> None:
    """Stream the microphone and redraw a rolling emotion timeline about once a second."""
    st.markdown(f"Every {LIVE_HOP_S:g} s the model classifies the last {SEGMENT_S:g} s of what the microphone "
                "hears. Your browser asks for the microphone; the audio goes only to this server (through an "
                "encrypted relay when the server has one).")
    rtc_options = webrtc.live_connection(mode=hosting.mode())  # None: it cannot connect here, and says why
    if rtc_options is None or not st.toggle("Open the microphone stream", key="live_enabled"):
        return
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    monitor_key = f"live_monitor::{model.signature}"
    if monitor_key not in st.session_state:
        monitor = live.monitor_for(model, sample_rate=model.sample_rate)
        st.session_state[monitor_key] = (monitor, live.audio_sink(monitor))
    monitor, sink = st.session_state[monitor_key]
    stream = webrtc_streamer(key="live_microphone", mode=WebRtcMode.SENDONLY, sink_audio_track=sink,
                             media_stream_constraints={"audio": True, "video": False}, **rtc_options)
    if st.button("Clear the timeline", key="live_reset"):
        monitor.reset()

    @st.fragment(run_every=1.0 if stream.state.playing else None)
    def live_view() -> None:
        """Redraw the rolling timeline about once a second while the stream plays."""
        timeline = monitor.timeline()
        cols = st.columns([1, 3])
        cols[0].metric("Heard", f"{monitor.received_s:.0f} s")
        cols[0].markdown(f"Now: **{monitor.status}**")
        if len(timeline):
            cols[0].download_button("Download the session as CSV", exports.timeline_csv(timeline),
                                    file_name="live-session-emotions.csv", mime=exports.CSV_MIME,
                                    key="live_csv", on_click="ignore", icon=":material/download:")
            recent = timeline.tail(round(LIVE_CHART_S / LIVE_HOP_S)).to_frame()
            cols[1].plotly_chart(charts.emotion_timeline(recent, title=f"Live emotion (last {LIVE_CHART_S / 60:g} "
                                                         "minutes)"), key="live_timeline")

    live_view()


def adapt_tab(model, index) -> None:
    """Adapt the model to one voice from a few enrolment clips, then compare on a test clip."""
    st.markdown("Give the model a few clips of one speaker (any emotion, no labels needed): it learns how this "
                "voice sounds on average and then judges new clips of the same speaker against it. "
                + prediction.adaptation_gain(model))
    if not speaker_adaptation.supported(model):
        st.info(f"The model **{model.name}** ({model.kind}) cannot be adapted to a voice: that needs a model with "
                "a speaker-adapted head (such as the shipped default). Choose one in the Model box above.",
                icon=":material/info:")
        return
    adapted = _enrolment(model)
    # Always drawn, so adapting again keeps the clip under test.
    choice = widgets.audio_picker(key="adapt_test", label="Clip to classify",
                                  clips=index.clips if index is not None else None)
    if choice is not None and adapted is not None:
        with widgets.shown_errors(f"Could not classify {choice.name}"):
            _compare(adapted, choice, model)


def _enrolment(model):
    """Collect enrolment clips and adapt on request; the current speaker adaptation, or None."""
    enrolment = speaker_adaptation.enrolment_collector(key="adapt", sample_rate=model.sample_rate)
    n_clips = len(enrolment)
    counts, actions = st.columns([2, 1])
    counts.metric("Enrolment clips", f"{n_clips}",
                  help=f"At least {MIN_ENROLMENT_CLIPS}; {RECOMMENDED_ENROLMENT_CLIPS} or more recommended, "
                       "8 or more work best. The same file added twice counts once.")
    if n_clips < RECOMMENDED_ENROLMENT_CLIPS:
        counts.caption(f"Add {RECOMMENDED_ENROLMENT_CLIPS - n_clips} more clip(s): "
                       f"{RECOMMENDED_ENROLMENT_CLIPS} or more recommended.")
    if actions.button("Forget the recordings", key="adapt_clear",
                      disabled=not speaker_adaptation.recordings(key="adapt")):
        speaker_adaptation.clear(key="adapt")
        st.rerun()
    if actions.button("Adapt to this voice", key="adapt_button", type="primary",
                      disabled=n_clips < MIN_ENROLMENT_CLIPS):
        with widgets.shown_errors("Could not adapt to this voice"):
            speaker_adaptation.adapt(model, enrolment, key="adapt", max_duration_s=MAX_DURATION_S)
    adapted = speaker_adaptation.current(model, enrolment, key="adapt")
    if adapted is None and speaker_adaptation.is_stale(model, enrolment, key="adapt"):
        st.warning("The model or the enrolment clips changed: adapt again.")
    elif adapted is None:
        st.caption("Collect the clips, then press **Adapt to this voice**.")
    else:
        st.success(f"Adapted to this voice from {adapted.n_clips} clip(s).")
        skipped = speaker_adaptation.left_out(model, enrolment, key="adapt")
        if skipped:
            st.warning(f"Left out {len(skipped)} clip(s) that could not be used: " + markdown_text("; ".join(skipped)),
                       icon=":material/warning:")
    return adapted


def _compare(adapted, choice, model) -> None:
    """One clip's scores, single-clip and adapted to the voice, side by side."""
    result = speaker_adaptation.compare(adapted, choice, model=model, max_duration_s=MAX_DURATION_S)
    chip = widgets.emotion_chip(result.label, score=result.score)
    st.markdown(f"### {chip} adapted to this voice", unsafe_allow_html=True)
    single_col, adapted_col = st.columns(2, gap="large")
    widgets.chart(charts.probabilities(result.single_clip.probabilities, title="Single clip (not adapted)"),
                  key="adapt_single_probs", where=single_col)
    widgets.chart(charts.probabilities(result.probabilities, title="Adapted to this voice"),
                  key="adapt_adapted_probs", where=adapted_col)
    st.caption(f"Single clip says **{result.single_clip.label}**; adapted says **{result.label}**.")
