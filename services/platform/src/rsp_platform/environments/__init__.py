"""The platform's environments: the umbrella chart plus one values file each.

- :mod:`.model`: the pydantic model of ``environments/values-<name>.yaml``;
- :mod:`.schema`: the JSON schemas generated from it and committed;
- :mod:`.layout`: where charts and environment files are in a checkout;
- :mod:`.umbrella`: rendering and linting the umbrella chart with Helm's
  engine, its dependencies assembled from source;
- :mod:`.checks`: what ``rsp-platform env lint`` looks for;
- :mod:`.cli`: the ``rsp-platform env`` commands.
"""
