"""The platform's JupyterHub plugins: authenticator, spawners, form, lab environment."""
