"""Feature inspector: what the models see, for one clip, two clips, and the whole corpus."""

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from ser_core.formatting import html_text
from ser_core.reporting import charts
from ui import cache, nav, widgets

SAMPLE_RATE = 16000
STUDY_KIND = f"MFCC-{SAMPLE_RATE}-40"
EGEMAPS_KIND = f"EGEMAPS-{SAMPLE_RATE}"
BLOCKS = ("MFCC", "Δ", "ΔΔ", "mel dB")

widgets.page_setup("Feature inspector", icon=nav.BY_TITLE["Feature inspector"].icon,
                   intro="The study's features (MFCC, Δ, ΔΔ, 40-band mel, averaged into 160 values), "
                         "eGeMAPS, pitch and energy, for one clip, two clips, or the whole corpus.")

index = widgets.load_current_corpus()
clips = index.clips if index is not None else None


def clip_audio(choice: widgets.AudioChoice) -> np.ndarray:
    """The choice decoded at 16 kHz and preprocessed as in the study."""
    payload = str(choice.path) if choice.path is not None else choice.data
    return cache.preprocessed(cache.audio(payload, sample_rate=SAMPLE_RATE, max_duration_s=120.0),
                              sample_rate=SAMPLE_RATE)


def frame_heatmaps(y: np.ndarray, *, key: str) -> None:
    """The MFCC, Δ, ΔΔ or mel heatmap of one preprocessed clip, one at a time (the visitor chooses which)."""
    frames = cache.study_frames(y, sample_rate=SAMPLE_RATE)
    hop_s = frames.hop_length / frames.sample_rate
    matrices = {"MFCC": frames.mfcc, "Δ MFCC": frames.delta, "ΔΔ MFCC": frames.delta2, "Mel (dB)": frames.mel_db}
    # A choice, not tabs: tabs would draw all four heatmaps on every visit.
    title = st.segmented_control("Frames", list(matrices), default="MFCC", key=f"{key}_frames") or "MFCC"
    if title == "Mel (dB)":
        widgets.chart(charts.mel_spectrogram(frames.mel_db, hop_s=hop_s,
                                             title="Mel spectrogram (dB below the loudest point)"), key=f"{key}_mel")
    else:
        # Each coefficient on its own scale: coefficient 0 (loudness) would otherwise flatten the rest.
        widgets.chart(charts.heatmap(matrices[title], title=f"{title}, each coefficient on its own scale", hop_s=hop_s,
                                     y_title="coefficient", colorscale="RdBu", per_row=True), key=f"{key}_{title}")


# ---------------------------------------------------------------- one clip
st.subheader("One clip")
choice = widgets.audio_picker(key="inspect", sources=("Corpus clip", "Upload", "Record"), clips=clips)
if choice is None:
    st.caption(("Pick a corpus clip, upload a file or record one" if clips is not None
                else "Upload a file or record one") + " to see its features.")
else:
    with widgets.shown_errors(f"Could not analyse {choice.name}"):
        y = clip_audio(choice)
        widgets.audio(choice.raw_bytes(), label=choice.name)
        frame_heatmaps(y, key="one")
        vector = cache.clip_features(y, kind=STUDY_KIND, sample_rate=SAMPLE_RATE)
        widgets.chart(charts.feature_vector(vector, block_names=BLOCKS,
                                            title=f"The {len(vector)}-value clip vector ({STUDY_KIND})"),
                      key="vector")
        left, right = st.columns(2)
        with left:
            widgets.chart(charts.contours(cache.contours(y, sample_rate=SAMPLE_RATE)), key="contours")
        with right:
            # openSMILE takes a second to load: only when asked for.
            egemaps_wanted = st.toggle("Show the eGeMAPS functionals", key="inspect_egemaps")
            if not egemaps_wanted:
                st.caption("88 eGeMAPS v02 functionals (pitch, loudness, voice quality...) of this clip, with openSMILE.")
            egemaps = None
            with widgets.shown_errors("eGeMAPS is unavailable"):
                egemaps = cache.clip_features(y, kind=EGEMAPS_KIND, sample_rate=SAMPLE_RATE) if egemaps_wanted else None
            if egemaps is not None:
                names = cache.feature_names(EGEMAPS_KIND)
                st.markdown(f"**eGeMAPS v02** ({len(egemaps)} functionals)")
                st.dataframe(pd.DataFrame({"feature": names, "value": egemaps}), hide_index=True,
                             height=300, width="stretch")

# ---------------------------------------------------------------- two clips
if clips is not None and choice is not None and choice.path is not None \
        and st.toggle("Compare with the same sentence in another emotion", key="inspect_pair"):
    st.subheader("Two clips side by side")
    row = clips[clips["path"] == str(choice.path)].iloc[0]
    same_words = clips[(clips["speaker"] == row["speaker"]) & (clips["statement"] == row["statement"])
                       & (clips["label"] != row["label"])]
    if same_words.empty:
        st.caption("This actor has no other emotion of the same sentence in the corpus.")
    else:
        other_emotion = st.selectbox(
            f"Same speaker ({row['speaker']}) and sentence, another emotion",
            charts.emotion_order(same_words["label"]), key="other_emotion")
        other = same_words[same_words["label"] == other_emotion].iloc[0]
        sides = st.columns(2)
        side_contours = {key: cache.contours(clip_audio(widgets.AudioChoice(name=str(r["path"]), path=r["path"],
                                                                            source="corpus")), sample_rate=SAMPLE_RATE)
                         for r, key in ((row, "a"), (other, "b"))}
        pitches = [c["pitch (Hz)"].dropna() for c in side_contours.values()]
        pitch_range = (0.0, max([float(p.max()) for p in pitches if len(p)] + [300.0]) * 1.1)
        for col, clip_row, key in ((sides[0], row, "a"), (sides[1], other, "b")):
            with col, widgets.shown_errors(f"Could not analyse {clip_row['path']}"):
                st.markdown(widgets.emotion_chip(str(clip_row["label"]))
                            + f" {html_text(clip_row['intensity'])} intensity", unsafe_allow_html=True)
                side_choice = widgets.AudioChoice(name=str(clip_row["path"]), path=clip_row["path"],
                                                  source="corpus")
                y_side = clip_audio(side_choice)
                widgets.audio(side_choice.raw_bytes(), label=f"{clip_row['label']}, {Path(str(clip_row['path'])).name}")
                frames = cache.study_frames(y_side, sample_rate=SAMPLE_RATE)
                widgets.chart(charts.mel_spectrogram(frames.mel_db, hop_s=frames.hop_length / frames.sample_rate),
                              key=f"side_mel_{key}")
                widgets.chart(charts.contours(side_contours[key], pitch_range=pitch_range), key=f"side_contours_{key}")

# ---------------------------------------------------------------- the whole corpus
st.subheader("The whole corpus")
if clips is None:
    widgets.no_data_help()
else:
    usable = clips[clips["duplicate_of"].isna()] if "duplicate_of" in clips else clips
    kind = st.selectbox("Features", [STUDY_KIND, EGEMAPS_KIND], key="corpus_kind")
    left_out = len(clips) - len(usable)
    st.caption(f"{len(usable):,} clips" + (f" ({left_out} byte-identical duplicate left out of {len(clips):,})"
                                            if left_out else "") + "; extracted once and cached on disk, so the next "
               "time is quick.")
    if st.toggle("Extract the corpus's features", key="corpus_go"):
        bar = st.progress(0.0, text="Extracting features…")

        def _report(done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"Extracting features: {done:,} of {total:,} clips")

        with widgets.shown_errors("Could not extract the corpus's features"):
            X = cache.corpus_features(tuple(usable["path"]), kind=kind, progress=_report)
            bar.progress(1.0, text=f"Features of {len(X):,} clips ready")
            names = cache.feature_names(kind)
            table = pd.DataFrame(X, columns=names[: X.shape[1]])
            meta = usable[["label", "speaker", "corpus", "gender", "intensity", "statement"]].reset_index(drop=True)
            left, right = st.columns(2)
            with left:
                feature = st.selectbox("Feature", list(table.columns), key="dist_feature")
                widgets.chart(charts.distribution(pd.concat([meta, table[[feature]]], axis=1),
                                                  value=feature, by="label"), key="distribution")
            with right:
                method = st.radio("Map", ["PCA", "t-SNE"], horizontal=True, key="map_method")
                color = st.radio("Colour by", ["label", "speaker", "gender"] + (["corpus"] if meta["corpus"].nunique() > 1
                                                                              else []), horizontal=True,
                                 key="map_color")
                finite = np.isfinite(X).all(axis=1)
                coords = cache.projection(X[finite], method=method)
                shown = meta[finite].assign(x=coords[:, 0], y=coords[:, 1])
                names = ("component 1", "component 2") if method == "PCA" else ("t-SNE 1", "t-SNE 2")
                widgets.chart(charts.embedding(shown, color=color, title=f"{method} of {kind}", axis_names=names),
                              key="corpus_map")
