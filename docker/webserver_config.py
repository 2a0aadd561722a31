"""Settings of the FAB auth manager (Flask-AppBuilder), read by the api-servers.

docker-compose.yaml mounts this file at /opt/airflow/webserver_config.py (``[fab] config_file``).
By default users and passwords live in Airflow's database: create them in the UI (Security ->
Users) or with ``airflow users create``, and give them one of FAB's roles: Viewer (read),
User (also run and clear DAGs, reprocess and retry in OpenFn), Op, Admin. To log in through LDAP
or OAuth instead, set AUTH_TYPE and the matching block below, put their secrets in .env and pass
them to the api-servers' ``environment`` in docker-compose.yaml (never write a secret here), then
``docker compose up -d``. Flask-AppBuilder's "Security" documentation lists every option.
"""

from __future__ import annotations

from flask_appbuilder.const import AUTH_DB

# from flask_appbuilder.const import AUTH_LDAP, AUTH_OAUTH

WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None

AUTH_TYPE = AUTH_DB
# No self sign-up with database logins: an admin creates each user.
AUTH_USER_REGISTRATION = False

# --- LDAP (python-ldap is part of the official Airflow image) ---------------------------------
# import os
# AUTH_TYPE = AUTH_LDAP
# AUTH_LDAP_SERVER = "ldaps://ldap.example.org:636"
# AUTH_LDAP_SEARCH = "ou=people,dc=example,dc=org"
# AUTH_LDAP_UID_FIELD = "uid"
# AUTH_LDAP_BIND_USER = "cn=airflow,ou=services,dc=example,dc=org"
# AUTH_LDAP_BIND_PASSWORD = os.environ["LDAP_BIND_PASSWORD"]
# AUTH_USER_REGISTRATION = True               # create the Airflow user at first login
# AUTH_USER_REGISTRATION_ROLE = "Viewer"
# AUTH_LDAP_GROUP_FIELD = "memberOf"
# AUTH_ROLES_MAPPING = {
#     "cn=airflow-admins,ou=groups,dc=example,dc=org": ["Admin"],
#     "cn=integrations,ou=groups,dc=example,dc=org": ["User"],
# }
# AUTH_ROLES_SYNC_AT_LOGIN = True

# --- OAuth / OpenID Connect (needs the authlib package in the image) --------------------------
# import os
# AUTH_TYPE = AUTH_OAUTH
# AUTH_USER_REGISTRATION = True
# AUTH_USER_REGISTRATION_ROLE = "Viewer"
# OAUTH_PROVIDERS = [
#     {
#         "name": "keycloak",
#         "icon": "fa-key",
#         "token_key": "access_token",
#         "remote_app": {
#             "client_id": os.environ["OAUTH_CLIENT_ID"],
#             "client_secret": os.environ["OAUTH_CLIENT_SECRET"],
#             "server_metadata_url": "https://sso.example.org/realms/main/.well-known/openid-configuration",
#             "api_base_url": "https://sso.example.org/realms/main/protocol/openid-connect",
#             "client_kwargs": {"scope": "openid email profile"},
#         },
#     }
# ]
# AUTH_ROLES_MAPPING = {"airflow-admins": ["Admin"], "integrations": ["User"]}
# AUTH_ROLES_SYNC_AT_LOGIN = True
