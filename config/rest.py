"""Django REST framework's settings and drf-spectacular's, as config/settings.py sets them."""

REST_FRAMEWORK = {
    # Every API view proves its caller the same way (config.api.StaffOrTokenAPIView and A1111's views
    # use this list): an API token; HTTP Basic with a password (remembered once checked, failures
    # throttled before hashing) or a client key, or a client key as a bearer token (config.auth);
    # a session. Token first, so an anonymous call is asked for a token.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "config.auth.PasswordOrKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    # Every way a body can fail to parse is a 400 (config.api.decode_json), never a 500.
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # drf-spectacular's, plus the error answers every view can give (config.schema).
    "DEFAULT_SCHEMA_CLASS": "config.schema.GardenAutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Emotion Garden API",
    "DESCRIPTION": (
        "Kiosk endpoints (legacy paths kept from the AWS demo) and the staff APIs. "
        "/emotion estimates an apparent facial expression, not an inner feeling; "
        "photos are analysed in memory and never stored."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Required strings say minLength 1: the server refuses blanks, so the schema must too.
    "ENFORCE_NON_BLANK_FIELDS": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.schema.form_bodies"],
    # A screen's kind (screens.serializers) is a "kind" like a job's: both named, so the job's keeps
    # its name (KindEnum: generation's kinds and those registered above it, read when the schema is made).
    "ENUM_NAME_OVERRIDES": {"ScreenKindEnum": ["kiosk", "signage"], "KindEnum": "generation.kinds.choices"},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
