"""The Predict page's three tabs: one clip (upload or recording), the live microphone, calibrating to a voice."""

import streamlit as st

from ser_core.reporting import charts
from ser_core.serving.speakers import MIN_ENROLMENT_CLIPS, RECOMMENDED_ENROLMENT_CLIPS
from ui import cache, calibration, exports, hosting, live, prediction, tables, webrtc, widgets

#: Longest upload or recording classified in one go (a clear error beyond it).
MAX_DURATION_S = 600.0
#: Clips longer than this also get an emotion-per-window timeline.
TIMELINE_MIN_S = 6.0


def clip_tab(model, model_path, index) -> None:
    """Classify one uploaded or recorded clip; a long one also gets a timeline."""
    choice = widgets.audio_picker(key="predict", clips=index.clips if index is not None else None)
    if choice is None:
        st.caption(f"Upload a file (wav, mp3, flac, ogg, m4a, webm, at most {MAX_DURATION_S / 60:.0f} minutes) "
                   "or record a few seconds of speech.")
        return
    with widgets.shown_errors(f"Could not classify {choice.name}"):
        y, warning = prediction.decode(choice, sample_rate=model.sample_rate, max_duration_s=MAX_DURATION_S)
        if warning:
            st.warning(warning, icon=":material/content_cut:")
        note = prediction.training_clip_note(model, choice)
        if note:
            st.warning(note, icon=":material/school:")
        duration_s = len(y) / model.sample_rate
        timeline = summary = None
        if duration_s > TIMELINE_MIN_S:
            timeline = cache.segments(y, model_path=str(model_path), sample_rate=model.sample_rate)
            summary = tables.summarize_segments(timeline, model.labels)
        if summary is not None:
            probs, label = summary["probabilities"], summary["label"]
        else:
            probs = cache.probabilities(y, model_path=str(model_path), sample_rate=model.sample_rate)
            label = max(probs, key=probs.get)
        listen, result = st.columns([1, 1], gap="large")
        with result:
            _verdict(label, probs, summary)
            st.download_button(
                "Download as CSV" if timeline is None else "Download the timeline as CSV",
                exports.prediction_csv(choice.name, labels=model.labels, probabilities=probs, timeline=timeline,
                                       summary=summary, duration_s=duration_s),
                file_name=exports.file_name(choice.name), mime=exports.CSV_MIME, key="predict_csv",
                on_click="ignore", icon=":material/download:")
        with listen:
            st.audio(choice.raw_bytes())
            color = charts.emotion_palette([label])[label]
            st.plotly_chart(charts.waveform(y, sample_rate=model.sample_rate, color=color,
                                            title=f"{choice.name} ({duration_s:.1f} s)"), key="predict_wave")
        if timeline is not None:
            _timeline(timeline)


def _verdict(label: str, probs: dict, summary: dict | None) -> None:
    """The emotion heard (over time for a long clip), how far to trust it, and the scores."""
    if summary is not None:
        st.markdown(f"### Mostly {widgets.emotion_chip(label)}", unsafe_allow_html=True)
        st.caption(f"Heard in {summary['share']:.0%} of the {summary['n_segments']} voiced 3-s windows; "
                   "the bars are the mean score over those windows.")
    else:
        st.markdown(f"### {widgets.emotion_chip(label, score=probs[label])}", unsafe_allow_html=True)
        st.caption(prediction.score_caption(probs[label]))
    st.plotly_chart(charts.probabilities(probs), key="predict_probs")


def _timeline(timeline) -> None:
    """The emotion of each voiced 3-s window of a long clip."""
    st.subheader("Emotion over time")
    voiced = timeline.dropna(subset=["label"])
    if voiced.empty:
        st.warning("Every 3-s window was silent or too short to classify.")
        return
    st.plotly_chart(charts.emotion_timeline(voiced, title="Score per 3-s window"), key="predict_timeline")
    st.caption(f"{len(voiced)} windows of 3 s, one every 1.5 s; {len(timeline) - len(voiced)} silent windows left out.")


def live_tab(model, model_path) -> None:
    """Stream the microphone and redraw a rolling emotion timeline about once a second."""
    st.markdown("Every second the model classifies the last 3 s of what the microphone hears. "
                "Your browser asks for the microphone; the audio goes only to this server (through an "
                "encrypted relay when the server has one).")
    rtc_options = webrtc.live_connection(mode=hosting.mode())  # None: it cannot connect here, and says why
    if rtc_options is None or not st.toggle("Open the microphone stream", key="live_enabled"):
        return
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    monitor_key = f"live_monitor::{model_path}"
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
        if not timeline.empty:
            cols[0].download_button("Download the session as CSV", exports.live_csv(timeline, labels=model.labels),
                                    file_name="live-session-emotions.csv", mime=exports.CSV_MIME,
                                    key="live_csv", on_click="ignore", icon=":material/download:")
            cols[1].plotly_chart(charts.emotion_timeline(timeline.tail(120), title="Live emotion (last 2 minutes)"),
                                 key="live_timeline")

    live_view()


def calibrate_tab(model, model_path, index) -> None:
    """Calibrate the model to one voice from a few enrolment clips, then compare on a test clip."""
    st.markdown("Give the model a few clips of one speaker (any emotion, no labels needed): it learns how this "
                "voice sounds on average and then judges new clips of the same speaker against it. "
                + prediction.calibration_gain(model))
    if not calibration.supported(model):
        st.info(f"The model **{model.name}** ({model.kind}) cannot be calibrated to a voice: that needs a model with "
                "a speaker-adapted head (such as the shipped default). Choose one in the Model box above.",
                icon=":material/info:")
        return
    speaker = _enrolment(model, model_path)
    # Always drawn, so recalibrating keeps the clip under test.
    choice = widgets.audio_picker(key="calibrate_test", label="Clip to classify",
                                  clips=index.clips if index is not None else None)
    if choice is not None and speaker is not None:
        with widgets.shown_errors(f"Could not classify {choice.name}"):
            _compare(speaker, choice, model, model_path)


def _enrolment(model, model_path):
    """Collect enrolment clips and calibrate on request; the current calibration, or None."""
    enrolment = calibration.enrolment_collector(key="calibrate", sample_rate=model.sample_rate)
    n_clips = len(enrolment)
    counts, actions = st.columns([2, 1])
    counts.metric("Enrolment clips", f"{n_clips}",
                  help=f"At least {MIN_ENROLMENT_CLIPS}; {RECOMMENDED_ENROLMENT_CLIPS} or more recommended, "
                       "8 or more work best. The same file added twice counts once.")
    if n_clips < RECOMMENDED_ENROLMENT_CLIPS:
        counts.caption(f"Add {RECOMMENDED_ENROLMENT_CLIPS - n_clips} more clip(s): "
                       f"{RECOMMENDED_ENROLMENT_CLIPS} or more recommended.")
    if actions.button("Forget the recordings", key="calibrate_clear",
                      disabled=not calibration.recordings(key="calibrate")):
        calibration.clear(key="calibrate")
        st.rerun()
    if actions.button("Calibrate to this voice", key="calibrate_button", type="primary",
                      disabled=n_clips < MIN_ENROLMENT_CLIPS):
        with widgets.shown_errors("Could not calibrate"):
            calibration.calibrate(model_path, enrolment, key="calibrate", sample_rate=model.sample_rate,
                                  max_duration_s=MAX_DURATION_S)
    speaker = calibration.current(model_path, enrolment, key="calibrate")
    if speaker is None and calibration.is_stale(model_path, enrolment, key="calibrate"):
        st.warning("The model or the enrolment clips changed: calibrate again.")
    elif speaker is None:
        st.caption("Collect the clips, then press **Calibrate to this voice**.")
    else:
        st.success(f"Calibrated to this voice from {speaker.n_clips} clip(s).")
    return speaker


def _compare(speaker, choice, model, model_path) -> None:
    """One clip's scores, single-clip and calibrated to the voice, side by side."""
    result = calibration.compare(speaker, choice, model_path=model_path, sample_rate=model.sample_rate,
                                 max_duration_s=MAX_DURATION_S)
    chip = widgets.emotion_chip(result.adapted_label, score=result.adapted[result.adapted_label])
    st.markdown(f"### {chip} calibrated to this voice", unsafe_allow_html=True)
    single_col, adapted_col = st.columns(2, gap="large")
    single_col.plotly_chart(charts.probabilities(result.single, title="Single clip (not calibrated)"),
                            key="calibrate_single_probs")
    adapted_col.plotly_chart(charts.probabilities(result.adapted, title="Calibrated to this voice"),
                             key="calibrate_adapted_probs")
    st.caption(f"Single clip says **{result.single_label}**; calibrated says **{result.adapted_label}**.")
