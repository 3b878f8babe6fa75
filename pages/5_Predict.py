"""Predict: classify an uploaded, recorded or live clip with a trained model."""

import streamlit as st

from ui import cache, charts, live, nav, widgets

#: Longest upload or recording classified in one go (a clear error beyond it).
MAX_DURATION_S = 600.0
#: Clips longer than this also get an emotion-per-segment timeline.
TIMELINE_MIN_S = 6.0
SAMPLE_RATE = 16000

widgets.page_setup("Predict", icon=nav.BY_TITLE["Predict"].icon,
                   intro="Upload a clip, record one in the browser, or stream from the microphone; "
                         "the model says which emotion it hears.")

model_path = widgets.model_picker(key="predict_model")
if model_path is None:
    widgets.no_model_help()
    st.stop()
with widgets.shown_errors(f"Could not load the model {model_path.name}") as loading:
    model = cache.model(model_path)
if loading.failed:
    st.stop()
st.caption(f"`{model.config['model']}` on `{model.spec.name}` features; labels: "
           + ", ".join(model.labels))

index = widgets.load_current_corpus()
clip_tab, live_tab = st.tabs([":material/upload_file: Upload or record",
                              ":material/settings_voice: Live microphone"])

# ---------------------------------------------------------------- one clip
with clip_tab:
    choice = widgets.audio_picker(key="predict", clips=index.clips if index is not None else None)
    if choice is None:
        st.caption("Upload a file (wav, mp3, flac, ogg, m4a, webm, at most "
                   f"{MAX_DURATION_S / 60:.0f} minutes) or record a few seconds of speech.")
    else:
        with widgets.shown_errors(f"Could not classify {choice.name}"):
            payload = str(choice.path) if choice.path is not None else choice.data
            y = cache.audio(payload, sample_rate=SAMPLE_RATE, max_duration_s=MAX_DURATION_S)
            probs = cache.probabilities(y, model_path=str(model_path), sample_rate=SAMPLE_RATE)
            label = max(probs, key=probs.get)
            duration_s = len(y) / SAMPLE_RATE

            listen, result = st.columns([1, 1], gap="large")
            with result:
                st.markdown(f"### {widgets.emotion_chip(label, probability=probs[label])}",
                            unsafe_allow_html=True)
                st.plotly_chart(charts.probabilities(probs), key="predict_probs")
            with listen:
                st.audio(choice.raw_bytes())
                color = charts.emotion_palette([label])[label]
                st.plotly_chart(charts.waveform(y, sample_rate=SAMPLE_RATE,
                                                title=f"{choice.name} ({duration_s:.1f} s)",
                                                color=color), key="predict_wave")

            if duration_s > TIMELINE_MIN_S:
                st.subheader("Emotion over time")
                timeline = cache.segments(y, model_path=str(model_path), sample_rate=SAMPLE_RATE,
                                          segment_s=3.0, hop_s=1.0)
                voiced = timeline.dropna(subset=["label"])
                if voiced.empty:
                    st.warning("Every 3-s segment was silent or too short to classify.")
                else:
                    st.plotly_chart(charts.emotion_timeline(voiced, title="Emotion per 3-s segment"),
                                    key="predict_timeline")
                    st.caption(f"{len(voiced)} segments of 3 s every 1 s; "
                               f"{len(timeline) - len(voiced)} silent segments left out.")

# ---------------------------------------------------------------- live microphone
with live_tab:
    st.markdown("Every second the model classifies the last 3 s of what the microphone hears. "
                "Your browser asks for the microphone; the audio goes only to this server.")
    if st.toggle("Open the microphone stream", key="live_enabled"):
        from streamlit_webrtc import WebRtcMode, webrtc_streamer

        monitor_key = f"live_monitor::{model_path}"
        if monitor_key not in st.session_state:
            monitor = live.monitor_for(model, sample_rate=SAMPLE_RATE)
            st.session_state[monitor_key] = (monitor, live.audio_sink(monitor))
        monitor, sink = st.session_state[monitor_key]
        stream = webrtc_streamer(
            key="live_microphone",
            mode=WebRtcMode.SENDONLY,
            sink_audio_track=sink,
            media_stream_constraints={"audio": True, "video": False},
        )
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
                cols[1].plotly_chart(charts.emotion_timeline(timeline.tail(120),
                                                             title="Live emotion (last 2 minutes)"),
                                     key="live_timeline")

        live_view()
