"""Dataset explorer: choose a corpus, see what is in it, listen to and look at one clip."""

from pathlib import Path

import streamlit as st

from ser_core.corpus import summarize
from ui import cache, charts, leakage, nav, paths, widgets

widgets.page_setup("Dataset explorer", icon=nav.BY_TITLE["Dataset explorer"].icon,
                   intro="Choose a corpus, see how it is balanced, and inspect any clip "
                         "before and after the study's preprocessing (trim at 20 dB, peak-normalise).")

# ---------------------------------------------------------------- choosing the data
current = widgets.current_data_path()
with st.expander("Data source" + (f": `{current}`" if current else " (none yet)"),
                 expanded=current is None or not current.exists()):
    st.markdown(f"The app opens with `${paths.DATA_ENV}` when it is set. "
                "Or pick a folder (any depth, `Actor_XX/…` or flat), a zip, or download RAVDESS. "
                "Your own corpus: one folder per label (`angry/…wav`, optionally `angry/<speaker>/…wav`) "
                "or a CSV/Parquet manifest with columns `path,label` (optional `speaker`, `split`, `gender`, "
                "`language`; paths relative to the manifest).")
    folder_tab, zip_tab, download_tab = st.tabs(["Folder path", "Upload a zip", "Download RAVDESS"])
    with folder_tab:
        with st.form("folder_form", border=False):
            typed = st.text_input("Folder, zip or manifest on this machine", value=str(current or ""),
                                  key="folder_path",
                                  placeholder="/data/ravdess")
            if st.form_submit_button("Use this folder"):
                widgets.set_data_path(typed.strip() or None)
                st.rerun()
    with zip_tab:
        archive = st.file_uploader("Zipped corpus", type=["zip"], key="corpus_zip")
        if archive is not None and st.button("Index this zip"):
            widgets.set_data_path(paths.save_upload(archive.getvalue(), name=archive.name))
            st.rerun()
    with download_tab:
        st.markdown("The official RAVDESS speech archive (Zenodo record 1188976, about 208 MB): "
                    "downloaded, verified and unpacked.")
        dest = st.text_input("Download to", value=str(paths.downloads_root()), key="download_dest")
        if st.button("Download RAVDESS", icon=":material/download:"):
            from ser_core.download import download_ravdess

            bar = st.progress(0.0, text="Connecting…")

            def _report(done_bytes: int, total_bytes: int | None) -> None:
                if total_bytes:
                    bar.progress(min(done_bytes / total_bytes, 1.0),
                                 text=f"{done_bytes / 1e6:.0f} / {total_bytes / 1e6:.0f} MB")
                else:
                    bar.progress(0.0, text=f"{done_bytes / 1e6:.0f} MB")

            url, expected_clips = paths.ravdess_source()
            with widgets.shown_errors("Download failed") as guard:
                folder = download_ravdess(Path(dest), url=url, expected_clips=expected_clips,
                                          progress=_report)
            if not guard.failed:
                bar.progress(1.0, text="Downloaded and verified")
                widgets.set_data_path(folder)
                st.rerun()

index = widgets.load_current_corpus(quiet=False)
if index is None:
    widgets.no_data_help()
    st.stop()

clips = index.clips
summary = summarize(index)
cols = st.columns(5)
cols[0].metric("Corpus", index.title.upper())
cols[1].metric("Clips", f"{summary['n_clips']:,}")
cols[2].metric("Actors", summary["n_actors"])
cols[3].metric("Hours of audio", f"{clips['duration_s'].sum() / 3600:.2f}")
cols[4].metric("Skipped files", len(index.skipped))
if index.skipped:
    with st.expander(f"{len(index.skipped)} files were skipped, and why"):
        st.dataframe([{"file": s.path, "reason": s.reason} for s in index.skipped],
                     width="stretch", hide_index=True)

# ---------------------------------------------------------------- filters and counts
st.subheader("Filters")
filter_cols = st.columns(5)
selected = {}
for col, column in zip(filter_cols, ("emotion", "actor", "gender", "intensity", "statement")):
    values = charts.emotion_order(clips[column].dropna()) if column == "emotion" \
        else sorted(clips[column].dropna().astype(str).unique())
    selected[column] = col.multiselect(column.capitalize(), values, placeholder="all",
                                       key=f"filter_{column}")
shown = clips
for column, values in selected.items():
    if values:
        shown = shown[shown[column].astype(str).isin(values)]
st.caption(f"{len(shown):,} of {len(clips):,} clips match.")
if shown.empty:
    st.warning("No clip matches these filters.")
    st.stop()

st.subheader("What is in it")
count_tabs = st.tabs(["Emotion", "Actor", "Gender", "Intensity", "Statement"])
for tab, column in zip(count_tabs, ("emotion", "actor", "gender", "intensity", "statement")):
    with tab:
        counts = shown[column].astype(str).value_counts().sort_index()
        st.plotly_chart(charts.counts_bar(counts, title=f"Clips per {column}",
                                          by_emotion=column == "emotion"),
                        key=f"counts_{column}")
st.plotly_chart(charts.duration_histogram(shown), key="durations")
with st.expander("The clip table"):
    st.dataframe(shown.drop(columns=["corpus"]), width="stretch", hide_index=True)

# ---------------------------------------------------------------- leakage
leakage.render_leakage_check(index, path=widgets.current_data_path(), key="explorer_leakage")

# ---------------------------------------------------------------- one clip
st.subheader("One clip, before and after preprocessing")
choice = widgets.corpus_clip_picker(shown, key="explorer")
if choice is not None:
    row = shown[shown["path"] == str(choice.path)].iloc[0]
    st.markdown(widgets.emotion_chip(str(row["emotion"])) + " " + widgets.clip_description(row),
                unsafe_allow_html=True)
    st.audio(choice.raw_bytes(), format="audio/wav")
    with widgets.shown_errors(f"Could not read {choice.name}"):
        raw = cache.audio(str(choice.path), sample_rate=16000)
        clean = cache.preprocessed(raw, sample_rate=16000)
        color = charts.emotion_palette([str(row["emotion"])])[str(row["emotion"])]
        before, after = st.columns(2)
        for col, y, label in ((before, raw, "Before: decoded at 16 kHz"),
                              (after, clean, "After: trimmed at 20 dB, peak-normalised")):
            with col:
                st.plotly_chart(charts.waveform(y, sample_rate=16000, title=label, color=color),
                                key=f"wave_{label}")
                frames = cache.study_frames(y, sample_rate=16000)
                st.plotly_chart(charts.heatmap(frames.mel_db, title="Mel spectrogram (dB)",
                                               hop_s=frames.hop_length / frames.sample_rate,
                                               y_title="mel band",
                                               z_title="dB"),
                                key=f"mel_{label}")
