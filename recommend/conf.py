"""The recommend app's settings, read onto django.conf.settings by config/settings.py (config.appsettings)."""

from config.appsettings import flag, integer, number, text

TITLE = "Recommendation and visitor data retention"
DOC = "[recommendation.md](recommendation.md#settings), [privacy.md](privacy.md#retention)"

SETTINGS = [
    text("RECOMMEND_BACKEND", "local", "`local`, `personalize` (AWS, falls back to local on any error), `popularity` (baseline)"),
    integer("RECOMMEND_MAX_RESULTS", 100, "images per orientation in a `/garden` answer"),
    integer("RECOMMEND_MIN_RESULTS", 6, "a favorite with fewer images gets its emotion's other images after them"),
    integer("RECOMMEND_CANDIDATES", 500, "newest images scored per tier"),
    text(
        "RECOMMEND_EXPLORATION",
        "thompson",
        "who may take the exploration slot: `thompson`, `slot`, `none` ([recommendation-model.md](recommendation-model.md#exploration))",
    ),
    integer("RECOMMEND_EXPLORE_EVERY", 3, "every n-th slot may explore (3: the last of each screen; 0: off)"),
    integer(
        "RECOMMEND_EXPLORE_DEPTH",
        12,
        "exploration slots only among the first n images of each list (the screens visitors reach); deeper, score order",
    ),
    integer("RECOMMEND_FRESH_IMPRESSIONS", 30, 'with `slot`: an image is "fresh" until shown this often'),
    integer("RECOMMEND_RECENT_MINUTES", 30, "shown this recently → shown last"),
    integer("RECOMMEND_HISTORY_EVENTS", 300, "a visitor's latest events read per request"),
    integer("RECOMMEND_LOGGED_RESULTS", 12, "image ids per orientation kept on each `Recommendation` row"),
    integer("RECOMMEND_REBUILD_MINUTES", 15, "beat schedule of the rebuild (the events since the last one)"),
    number(
        "RECOMMEND_LINEAGE_WEIGHT",
        0.5,
        "a bred picture starts at this share of its parents' lead over their predictions "
        "([recommendation-model.md](recommendation-model.md#a-bred-pictures-head-start)); `0` off",
    ),
    integer("RECOMMEND_FULL_RECOUNT_HOURS", 24, "every event is recounted at least this often"),
    flag("RECOMMEND_ALS_ENABLED", False, "add the `implicit` ALS term (off: see [the figures](recommendation.md#offline-evaluation))"),
    number("RECOMMEND_ALS_WEIGHT", 0.5, "weight of the ALS term"),
    integer("RECOMMEND_ALS_MIN_LIKES", 10, "ALS is used only for visitors with at least this many likes"),
    integer("RECOMMEND_ALS_FACTORS", 32, "ALS latent factors"),
    text("RECOMMEND_PERSONALIZE_REGION", "", "AWS region of Personalize"),
    text("RECOMMEND_PERSONALIZE_CAMPAIGN_ARN", "", "Personalize campaign for `get_recommendations`"),
    text("RECOMMEND_PERSONALIZE_FILTER_ARN", "", "Personalize filter on the search key ([recommendation.md](recommendation.md#settings))"),
    text("RECOMMEND_PERSONALIZE_TRACKING_ID", "", "Personalize event tracker for `put_events`"),
    integer("GARDEN_RETAIN_VISITOR_DAYS", 90, "days a visitor's derived labels are kept after their last `/emotion`; `0`: forever"),
    integer("GARDEN_RETAIN_EVENT_DAYS", 365, "days likes, impressions and dislikes are kept; `0`: forever"),
    integer("GARDEN_RETAIN_RECOMMENDATION_DAYS", 90, "days served gardens (`Recommendation` rows) are kept; `0`: forever"),
]
