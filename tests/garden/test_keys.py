"""garden.keys: the cached parse that the recommender and the insights rollups share."""

from garden import keys


def test_search_key_of_reads_the_folder_of_pool_and_serving_keys_and_refuses_other_strings():
    assert keys.search_key_of("imgPool/calm/spring,cloudy,day/img_20230320-121242_0h.jpeg") == "calm/spring,cloudy,day"
    assert keys.search_key_of("emotions/happy/img_20230320-121242_3v.jpeg") == "happy"
    assert keys.search_key_of("imgPool/retouched/img_20230320-121242_0h.png") is None  # not an emotion
    assert keys.search_key_of("emotions/calm/img_20230320-121242_0h.png") is None  # serving keys are JPEG
    assert keys.search_key_of("not a key") is None


def test_parsed_or_none_is_one_cache_for_every_caller():
    keys.parsed_or_none.cache_clear()
    key = "imgPool/sad/img_20230320-121242_1h.jpeg"
    first = keys.search_key_of(key)
    second = keys.parsed_or_none(key)
    assert (first, second.index, second.orientation) == ("sad", 1, "h")
    info = keys.parsed_or_none.cache_info()
    assert (info.misses, info.hits) == (1, 1)  # the second call was answered from the first's parse
