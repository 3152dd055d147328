"""Executors that run tasks elsewhere than the launching machine: Ray (``--executor ray``,
``@on_ray``). Each implements the ``Executor`` protocol of ``ketch.runtime`` and is registered
there by name; this package is imported only by a run that uses one (``import ketch`` stays
light, and Ray is an optional extra: ``pip install 'ketch[ray]'``)."""
