"""Dataset explorer: choose a corpus, see what is in it, listen to and look at one clip."""

import streamlit as st

from ser_core.data.index import summarize
from ser_core.formatting import html_text
from ser_core.reporting import charts
from ui import cache, data_sources, hosting, leakage, nav, widgets

widgets.page_setup("Dataset explorer", icon=nav.BY_TITLE["Dataset explorer"].icon,
                   intro="Choose a corpus, see how it is balanced, and inspect any clip before and after "
                         "preprocessing (DC removed, trimmed at 20 dB, peak-normalised).")


data_sources.render_data_source()

index = widgets.load_current_corpus(quiet=False)
if index is None:
    widgets.no_data_help(here=True)
    st.stop()

clips = index.clips
summary = summarize(index)
duplicates = int(clips["duplicate_of"].notna().sum()) if "duplicate_of" in clips else 0
cols = st.columns(5)
cols[0].metric("Corpus", index.title.upper())
cols[1].metric("Clips", f"{summary['n_clips']:,}",
               help=f"{duplicates} byte-identical duplicate(s) are left out of training and features" if duplicates else None)
cols[2].metric("Speakers", summary["n_speakers"])
seconds = float(clips["duration_s"].sum())
cols[3].metric("Audio", f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min")
cols[4].metric("Skipped files", len(index.skipped))
if index.skipped:
    with st.expander(f"{len(index.skipped)} files were skipped, and why"):
        st.dataframe([{"file": index.relative(s.path), "reason": hosting.redact(s.reason)} for s in index.skipped],
                     width="stretch", hide_index=True)

# ---------------------------------------------------------------- filters and counts
st.subheader("Filters")
selected = {}
#: The clip table's columns a visitor filters and counts by, with their words on screen.
COLUMN_WORDS = {"label": "Emotion", "speaker": "Speaker", "gender": "Gender", "intensity": "Intensity",
                "statement": "Statement"}
if clips["corpus"].nunique() > 1:
    COLUMN_WORDS = {"corpus": "Corpus", **COLUMN_WORDS}
filter_cols = st.columns(len(COLUMN_WORDS))
for col, (column, word) in zip(filter_cols, COLUMN_WORDS.items()):
    values = charts.emotion_order(clips[column].dropna()) if column == "label" \
        else sorted(clips[column].dropna().astype(str).unique())
    selected[column] = col.multiselect(word, values, placeholder="all", key=f"filter_{column}")
shown = clips
for column, values in selected.items():
    if values:
        shown = shown[shown[column].astype(str).isin(values)]
st.caption(f"{len(shown):,} of {len(clips):,} clips match.")
if shown.empty:
    st.warning("No clip matches these filters.")
    st.stop()

st.subheader("What is in it")
# One count chart at a time (a choice, not tabs: tabs draw every chart), so the page opens fast.
word = st.segmented_control("Count clips by", list(COLUMN_WORDS.values()), default="Emotion", key="count_by") \
    or "Emotion"
column = next(name for name, said in COLUMN_WORDS.items() if said == word)
counts = shown[column].astype(str).value_counts().sort_index()
widgets.chart(charts.counts_bar(counts, title=f"Clips per {word.lower()}", by_emotion=column == "label",
                                category=word.lower()), key=f"counts_{column}")
widgets.chart(charts.duration_histogram(shown), key="durations")
with st.expander("The clip table"):
    table = shown.assign(path=shown["path"].map(index.relative))
    if clips["corpus"].nunique() < 2:
        table = table.drop(columns=["corpus"])
    if "duplicate_of" in table:
        table["duplicate_of"] = table["duplicate_of"].map(lambda p: index.relative(p) if isinstance(p, str) else "")
    st.dataframe(widgets.readable_table(table), width="stretch", hide_index=True,
                 column_config={"file": st.column_config.Column(pinned=True)})

# ---------------------------------------------------------------- leakage
leakage.render_leakage_check(index, path=widgets.current_data_path(), key="explorer_leakage")

# ---------------------------------------------------------------- one clip
st.subheader("One clip, before and after preprocessing")
choice = widgets.corpus_clip_picker(shown, key="explorer")
if choice is not None:
    row = shown[shown["path"] == str(choice.path)].iloc[0]
    st.markdown(widgets.emotion_chip(str(row["label"])) + " " + html_text(widgets.clip_description(row)),
                unsafe_allow_html=True)
    widgets.audio(choice.raw_bytes(), label=choice.name, format="audio/wav")
    with widgets.shown_errors(f"Could not read {choice.name}"):
        raw = cache.audio(str(choice.path), sample_rate=16000)
        clean = cache.preprocessed(raw, sample_rate=16000)
        color = charts.emotion_palette([str(row["label"])])[str(row["label"])]
        spectrograms = st.toggle("Show the mel spectrograms too", key="explorer_mel")
        before, after = st.columns(2)
        for col, y, label in ((before, raw, "Before: decoded at 16 kHz"),
                              (after, clean, "After: DC removed, trimmed at 20 dB, peak-normalised")):
            with col:
                widgets.chart(charts.waveform(y, sample_rate=16000, title=label, color=color), key=f"wave_{label}")
                if not spectrograms:
                    continue
                frames = cache.study_frames(y, sample_rate=16000)
                widgets.chart(charts.mel_spectrogram(frames.mel_db, hop_s=frames.hop_length / frames.sample_rate,
                                                     title="Mel spectrogram (dB below the loudest point)"),
                              key=f"mel_{label}")
