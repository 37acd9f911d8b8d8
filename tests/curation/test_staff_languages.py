"""The staff pages in the curator's language: each page in Korean and Japanese (Accept-Language,
or the language form in the admin header), with our words and the Django admin's own around them."""

import json
import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import translation

from generation import selectors as generation_selectors
from insights.selectors.coverage import Headline

pytestmark = pytest.mark.django_db

# The Django admin's own words on every page (its catalogs): the header's "Log out", the breadcrumbs' "Home".
ADMIN_WORDS = {"ko": ("로그아웃", "홈"), "ja": ("ログアウト", "ホーム")}

# Per page: where it is, then for each language words of ours it must show, and the English it must not.
PAGES = {
    "review": (
        reverse("curation:review"),
        {"ko": ("검토 남음", "채택", "실행 취소"), "ja": ("レビュー残り", "採用", "元に戻す")},
        ("left to review", "Undo (u or z)"),
    ),
    "image list": (
        reverse("admin:garden_image_changelist"),
        {"ko": ("키보드로 검토", "생성 시각", "방향", "안전 검사"), "ja": ("キーボードでレビュー", "作成日時", "向き", "安全チェック")},
        ("Review with the keyboard", "Orientation"),
    ),
    "bulk form": (
        reverse("admin:generation_generationjob_add"),
        {"ko": ("배치 생성", "반복 횟수", "선호 계절"), "ja": ("バッチを生成", "繰り返し回数", "お気に入りの季節")},
        ("Repeat count", "Each index makes one landscape"),
    ),
    "jobs": (
        reverse("admin:generation_generationjob_changelist"),
        {"ko": ("배치 생성…", "생성 작업"), "ja": ("バッチを生成…", "生成ジョブ")},
        ("Generate a batch…", "generation job"),
    ),
    "insights": (
        reverse("admin:insights_dashboard_changelist"),
        {"ko": ("커버리지", "감정별 좋아요 비율 추이", "대시보드"), "ja": ("カバレッジ", "感情ごとのいいね率の推移", "ダッシュボード")},
        ("Like-rate per emotion over time", "No data in this range."),
    ),
    "gardener report": (
        reverse("admin:gardener_report"),
        {"ko": ("정원사 보고서", "목표 미달", "최근 14일간의 작업"), "ja": ("ガーデナーのレポート", "目標未満", "過去14日間の操作")},
        ("Below target", "Actions over the last 14 days"),
    ),
    "status page": (
        reverse("curation:system-status"),
        {"ko": ("시스템 상태", "대기열과 워커", "주기 작업"), "ja": ("システムの状態", "キューとワーカー", "定期タスク")},
        ("Queues and workers", "Periodic tasks"),
    ),
    "model library": (
        reverse("admin:library_libraryentry_changelist"),
        {"ko": ("모델 폴더 다시 스캔", "라이브러리 항목"), "ja": ("モデルフォルダを再スキャン", "ライブラリ項目")},
        ("Rescan the models folder",),
    ),
}


@pytest.fixture
def admin_client(db, monkeypatch, pool_images):
    """A superuser sees every staff page (four pool images to review); the workers' broadcast is answered
    here (the status page asks it)."""
    user = get_user_model().objects.create_superuser(username="root", password="x" * 16)
    monkeypatch.setattr(generation_selectors, "answering_workers", lambda *, timeout: {"workers": []})
    client = Client()
    client.force_login(user)
    return client


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.mark.parametrize("language", ["ko", "ja"])
@pytest.mark.parametrize("page", PAGES)
def test_each_staff_page_speaks_the_curators_language(admin_client, page, language):
    url, words, english = PAGES[page]
    html = text_of(admin_client.get(url, HTTP_ACCEPT_LANGUAGE=language))
    assert f'<html lang="{language}"' in html
    for word in (*words[language], *ADMIN_WORDS[language]):
        assert word in html, f"{page} in {language}: {word!r} missing"
    for word in english:
        assert word not in html, f"{page} in {language}: English {word!r} left"


@pytest.mark.parametrize("page", PAGES)
def test_each_staff_page_stays_english_for_an_english_curator(admin_client, page):
    url, _words, english = PAGES[page]
    html = text_of(admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en"))
    assert '<html lang="en"' in html and "Log out" in html
    assert english[0] in html


def test_the_admin_header_switches_the_language_with_djangos_set_language(admin_client):
    jobs = reverse("admin:generation_generationjob_changelist")
    html = text_of(admin_client.get(jobs))
    form = re.search(r'<form id="admin-language-form".*?</form>', html, re.S).group(0)
    assert f'action="{reverse("set_language")}"' in form and 'name="next" value="/admin/generation/generationjob/"' in form
    for code, name in settings.LANGUAGES:  # native names: English, 한국어, 日本語
        assert f'value="{code}" lang="{code}"' in form and f">{name}</option>" in form
    answer = admin_client.post(reverse("set_language"), {"language": "ja", "next": jobs})
    assert answer.status_code == 302 and answer["Location"] == jobs
    assert admin_client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ja"
    html = text_of(admin_client.get(jobs, HTTP_ACCEPT_LANGUAGE="ko"))  # the choice wins over the browser's
    assert '<html lang="ja"' in html and "バッチを生成…" in html and 'value="ja" lang="ja" selected' in html


def test_the_login_page_has_the_language_form_too(db):
    html = text_of(Client().get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE="ko"))
    assert 'id="admin-language-form"' in html and "로그인" in html


@pytest.mark.parametrize("browser_language", ["ko", "ja"])
def test_the_switch_names_each_language_in_its_own_tongue_whatever_the_page_language(admin_client, browser_language):
    """Not 영어 / 英語(米国): a visitor looking for their language finds it written as they read it."""
    html = text_of(admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE=browser_language))
    form = re.search(r'<form id="admin-language-form".*?</form>', html, re.S).group(0)
    options = re.findall(r'<option value="(\w+)" lang="\w+"(?: selected)?>([^<]+)</option>', form)
    assert options == [("en", "English"), ("ko", "한국어"), ("ja", "日本語")]


def test_the_staff_scripts_words_are_in_the_static_catalogs():
    """review.js, jobs.js and insights.js read their words from garden/static/jsi18n (make messages)."""
    for code, words in {"ko": ("저장됨", "실행 취소할 것이 없습니다", "대기 중", "%s초"), "ja": ("保存しました", "待機中", "%s秒")}.items():
        script = (settings.BASE_DIR / "garden" / "static" / "jsi18n" / code / "djangojs.js").read_text(encoding="utf-8")
        catalog = json.loads(re.search(r"const newcatalog = (\{.*?\n  \});", script, re.S).group(1))
        translated = {text for value in catalog.values() for text in ([value] if isinstance(value, str) else value)}
        for word in words:
            assert word in translated, f"{code}: {word!r}"


def test_messages_to_curators_are_translated(admin_client, pool_images):
    changelist = reverse("admin:garden_image_changelist")
    ids = [str(image.pk) for image in pool_images[:2]]
    answer = admin_client.post(changelist, {"action": "keep_selected", "_selected_action": ids}, HTTP_ACCEPT_LANGUAGE="ja", follow=True)
    assert "画像2件を採用しました。" in text_of(answer)


def test_headline_numbers_follow_the_language():
    item = Headline("visitors", "Visitors", 1234567.0, 0.0)
    rate = Headline("like-rate", "Like-rate", 12.5, 10.0, unit="%")
    with translation.override("ja"):
        assert item.value_text == "1,234,567" and rate.value_text == "12.5%" and rate.change_text == "▲ 2.5ポイント"
    with translation.override("en"):
        assert rate.change_text == "▲ 2.5 pts"


def test_the_admin_index_has_no_bare_auth_token_section(admin_client):
    """DRF's authtoken admin is removed (tokens come from `manage.py drf_create_token`), so no AUTH TOKEN heading."""
    for language in ("en", "ko", "ja"):
        html = text_of(admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE=language))
        assert "authtoken" not in html and "Auth Token" not in html
