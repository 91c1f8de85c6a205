"""Support code of the notebooks tests.

Gateway, hub and platform runners, and a fake Kubernetes cluster for the
lab spawner: an API server over HTTP (``kubeapi``, ``kubehttp``,
``kubeproto``), a scheduler and kubelet (``kubelet``) and the chart's RBAC
(``chartrbac``).
"""
