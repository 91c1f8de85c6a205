"""Chart test harness: render with the embedded Helm engine, validate, compare, police.

Every service chart of ``charts/`` is tested through these modules, and so
is the umbrella chart with each environment (``tests/environments``):

- :mod:`tests.charts.rendering`: render a chart into Kubernetes objects;
  ``helm lint``.
- :mod:`tests.charts.kubeschema`: validate objects against the Kubernetes
  OpenAPI schemas (strict), custom resources through a pluggable hook
  (:func:`~tests.charts.kubeschema.crd_validator` builds one from CRDs;
  ``assert_valid`` checks the platform's own against ``charts/operator/crds``).
- :mod:`tests.charts.golden`: compare rendered objects with golden files
  (``UPDATE_GOLDEN=1`` rewrites them).
- :mod:`tests.charts.policy`: the platform's rules for every workload.
- :mod:`tests.charts.secret_scan`: find secret values in rendered objects.
- :mod:`tests.charts.conventions`: values documented field by field, values
  schema closed at every level.
- :mod:`tests.charts.platform_ingress`: which chart declares which service's
  routes, and the rendered ``PlatformIngress`` resources read back.
- :mod:`tests.charts.workloads`: a chart rendered by named variants (and
  fixtures of those renders), and the configuration a rendered pod would see.
- :mod:`tests.charts.service_charts`: the service charts with their
  production-like values and golden files.

``test_all_charts.py`` applies the conventions, schemas and policy to every
chart's defaults, ``test_service_charts.py`` schemas, golden files, policy,
lint and secret values to every variant of the service charts, and
``test_chart_routes.py`` checks every service chart's routes against the
route table, the CRD and the operator; each chart adds its own tests
(``test_gateway_chart.py``).
"""
