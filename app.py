"""The dashboard's entry point: ``streamlit run app.py``.

``st.navigation`` over the one page list, :mod:`ui.nav` (Home first), draws the sidebar
menu and maps each URL to its script: ``/`` is Home (``app_pages/home.py``), then
``/Dataset_explorer``, ``/Feature_inspector``, ``/Model_comparison``, ``/Training`` and
``/Predict``. This file imports neither tensorflow nor torch, and neither does Home.
After a page's script has run (or stopped, or switched page), the server warms up in the
background, once (:func:`ui.cache.warm_up`), a moment later: the browser draws the first page
without sharing the CPU with it.
"""

from ui import nav

try:
    nav.navigation().run()
finally:
    from ui import cache

    cache.warm_up()
