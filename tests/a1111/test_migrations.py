"""a1111 0001 and generation 0014: prompt styles made while generation owned them keep their rows
(now in a1111's table), their content type and so the permissions granted on them, on SQLite and
PostgreSQL; and back."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from a1111.models import PromptStyle
from tests.migration_support import migrate, migrated_from

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("generation", "0013_library_identity_usable_options"), ("a1111", None)]
AFTER = [("generation", "0014_prompt_style_to_a1111"), ("a1111", "0001_prompt_style")]


def tables() -> set[str]:
    return set(connection.introspection.table_names())


def test_prompt_styles_move_to_a1111_with_their_rows_and_permissions_and_back():
    with migrated_from(BEFORE) as old:
        assert "generation_promptstyle" in tables() and "a1111_promptstyle" not in tables()
        old.get_model("generation", "PromptStyle").objects.create(
            name="noir", prompt="film noir still of {prompt}", negative_prompt="colour"
        )
        content_type, _ = ContentType.objects.get_or_create(app_label="generation", model="promptstyle")
        change, _ = Permission.objects.get_or_create(
            content_type=content_type, codename="change_promptstyle", defaults={"name": "Can change prompt style"}
        )
        editors = Group.objects.create(name="Style editors")
        editors.permissions.add(change)

        new = migrate(AFTER)
        assert "a1111_promptstyle" in tables() and "generation_promptstyle" not in tables()
        rows = list(new.get_model("a1111", "PromptStyle").objects.values_list("name", "prompt", "negative_prompt"))
        assert rows == [("noir", "film noir still of {prompt}", "colour")]
        assert ("generation", "promptstyle") not in {(m._meta.app_label, m._meta.model_name) for m in new.get_models()}
        ContentType.objects.clear_cache()
        assert ContentType.objects.get(pk=content_type.pk).app_label == "a1111"
        assert editors.permissions.get().natural_key() == ("change_promptstyle", "a1111", "promptstyle")

        old = migrate(BEFORE)
        assert "generation_promptstyle" in tables() and "a1111_promptstyle" not in tables()
        assert old.get_model("generation", "PromptStyle").objects.get().name == "noir"
        ContentType.objects.clear_cache()
        assert ContentType.objects.get(pk=content_type.pk).app_label == "generation"
    ContentType.objects.clear_cache()


def test_the_moved_model_reads_the_migrated_rows():
    with migrated_from(BEFORE) as old:
        old.get_model("generation", "PromptStyle").objects.create(name="bright", prompt="bright colours")
    assert PromptStyle.objects.get().prompt == "bright colours"
    assert PromptStyle._meta.db_table == "a1111_promptstyle"
