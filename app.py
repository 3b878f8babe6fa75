"""The dashboard's entry point: ``streamlit run app.py``.

``st.navigation`` over the one page list, :mod:`ui.nav` (Home first), draws the sidebar
menu and maps each URL to its script: ``/`` is Home (``app_pages/home.py``), then
``/Dataset_explorer``, ``/Feature_inspector``, ``/Model_comparison``, ``/Training`` and
``/Predict``. This file imports neither tensorflow nor torch, and neither does Home.
"""

from ui import nav

nav.navigation().run()
