"""Where the corpus comes from: a folder (local mode only), an uploaded zip, or the official RAVDESS download."""

from pathlib import Path

import streamlit as st

from ser_core.formatting import markdown_text
from ui import cache, hosting, paths, widgets

#: Session key: (unpacked folder, entries its zip held that were not unpacked).
ZIP_LEFT_OUT_KEY = "zip_left_out"


def _folder_source() -> None:
    """Local mode only: any folder or zip on this machine."""
    current = widgets.current_data_path()
    with st.form("folder_form", border=False):
        typed = st.text_input("Folder, zip or manifest on this machine", value=str(current or ""), key="folder_path",
                              placeholder="/data/ravdess")
        if st.form_submit_button("Use this folder"):
            widgets.set_data_path(typed.strip() or None)
            st.rerun()


def _zip_source() -> None:
    """A zip of a corpus, unpacked into this visitor's private scratch area."""
    archive = st.file_uploader("Zipped corpus", type=["zip"], key="corpus_zip",
                               help="Private to this browser tab" + (" and deleted when you leave." if hosting.is_public() else "."))
    left_out = st.session_state.get(ZIP_LEFT_OUT_KEY)
    if left_out and left_out[1] and Path(left_out[0]) == widgets.current_data_path():
        names = ", ".join(markdown_text(name) for name in left_out[1][:5]) + (", …" if len(left_out[1]) > 5 else "")
        st.warning(f"{len(left_out[1])} entries of the zip were not unpacked (absolute paths, '..' or links): "
                   f"{names}", icon=":material/folder_off:")
    if archive is not None and st.button("Index this zip"):
        with widgets.shown_errors("Could not unpack the zip") as guard:
            folder = paths.unpack_upload(archive.getvalue(), name=archive.name)
        if not guard.failed:
            widgets.set_data_path(folder)
            st.session_state[ZIP_LEFT_OUT_KEY] = (folder, paths.zip_left_out(archive.getvalue()))
            st.rerun()


def _download_source() -> None:
    """The official RAVDESS archive, into the operator's download folder (public) or a chosen one (local)."""
    st.markdown("The official RAVDESS speech archive (Zenodo record 1188976, about 208 MB): downloaded, "
                "verified and unpacked once for this server.")
    dest = str(paths.downloads_root())
    if not hosting.is_public():
        dest = st.text_input("Download to", value=dest, key="download_dest")
    if st.button("Download RAVDESS", icon=":material/download:"):
        from ser_core.data.download import download_ravdess

        status = st.empty()
        bar = status.progress(0.0, text="Connecting…")

        def _report(done_bytes: int, total_bytes: int | None) -> None:
            text = f"{done_bytes / 1e6:,.0f} of {total_bytes / 1e6:,.0f} MB" if total_bytes else f"{done_bytes / 1e6:,.0f} MB"
            bar.progress(min(done_bytes / total_bytes, 1.0) if total_bytes else 0.0, text=text)

        url, expected_clips = paths.ravdess_source()
        lock = cache.download_lock()
        if not lock.acquire(blocking=False):
            status.info("A download is already running on this server; try again in a few minutes.")
            st.stop()
        try:
            with widgets.shown_errors("Download failed") as guard:
                folder = download_ravdess(Path(dest), url=url, expected_clips=expected_clips, progress=_report)
        finally:
            lock.release()
        if guard.failed:
            status.empty()
        else:
            widgets.set_data_path(folder)
            st.rerun()


def render_data_source() -> None:
    """The data-source box: no server paths in public mode, a folder path too in local mode."""
    current = widgets.current_data_path()
    with st.expander(f"Data source: {widgets.describe_data_path(current)}", expanded=current is None or not current.exists()):
        if hosting.is_public():
            tabs = st.tabs(["Upload a zip", "Download RAVDESS"])
            with tabs[0]:
                _zip_source()
            with tabs[1]:
                _download_source()
            provided = "the corpus it provides, " if paths.default_data_dir() is not None else ""
            st.caption(f"This public demo reads no folder of the server: use {provided}your own zip or the official "
                       "download.")
        else:
            st.markdown(f"The app opens with `${paths.DATA_ENV}` when it is set. Or pick a folder (any depth, "
                        "`Actor_XX/…` or flat), a zip, or download RAVDESS. Your own corpus: one folder per label "
                        "(`angry/…wav`, optionally `angry/<speaker>/…wav`) or a CSV/Parquet manifest with columns "
                        "`path,label` (optional `speaker`, `split`, `gender`, `language`; paths relative to the manifest).")
            tabs = st.tabs(["Folder path", "Upload a zip", "Download RAVDESS"])
            with tabs[0]:
                _folder_source()
            with tabs[1]:
                _zip_source()
            with tabs[2]:
                _download_source()
