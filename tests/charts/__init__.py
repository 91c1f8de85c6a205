"""Chart test harness: render with the embedded Helm engine, validate, compare, police.

Every chart of ``charts/`` (and later the umbrella chart) is tested through
these modules:

- :mod:`tests.charts.rendering`: render a chart into Kubernetes objects.
- :mod:`tests.charts.kubeschema`: validate objects against the Kubernetes
  OpenAPI schemas (strict), custom resources through a pluggable hook.
- :mod:`tests.charts.golden`: compare rendered objects with golden files.
- :mod:`tests.charts.policy`: the platform's rules for every workload.
- :mod:`tests.charts.secret_scan`: find secret values in rendered objects.
"""
