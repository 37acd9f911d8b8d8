
'use strict';
{
  const globals = this;
  const django = globals.django || (globals.django = {});

  
  django.pluralidx = function(n) {
    const v = 0;
    if (typeof v === 'boolean') {
      return v ? 1 : 0;
    } else {
      return v;
    }
  };
  

  /* gettext library */

  django.catalog = django.catalog || {};
  
  const newcatalog = {
    "#%s in queue": "\u30ad\u30e5\u30fc\u306e%s\u756a\u76ee",
    "%(sel)s of %(cnt)s selected": [
      "%(cnt)s\u500b\u4e2d%(sel)s\u500b\u9078\u629e"
    ],
    "%s s": "%s\u79d2",
    "%s selected option not visible": [
      "\u9078\u629e\u3055\u308c\u305f%s\u4ef6\u306e\u30aa\u30d7\u30b7\u30e7\u30f3\u306f\u975e\u8868\u793a\u3067\u3059\u3002"
    ],
    "(click to clear)": "(\u30af\u30ea\u30c3\u30af\u3067\u30af\u30ea\u30a2)",
    "6 a.m.": "\u5348\u524d 6 \u6642",
    "6 p.m.": "\u5348\u5f8c 6 \u6642",
    "April": "4\u6708",
    "August": "8\u6708",
    "Available %s": "\u5229\u7528\u53ef\u80fd %s",
    "Cancel": "\u30ad\u30e3\u30f3\u30bb\u30eb",
    "Cancelled": "\u30ad\u30e3\u30f3\u30bb\u30eb\u6e08\u307f",
    "Choose %s by selecting them and then select the \"Choose\" arrow button.": "%s\u3092\u9078\u629e\u3059\u308b\u306b\u306f\u3001\u9805\u76ee\u3092\u9078\u629e\u3057\u3066\u304b\u3089\"\u9078\u629e\"\u77e2\u5370\u30dc\u30bf\u30f3\u3092\u9078\u629e\u3057\u307e\u3059\u3002",
    "Choose a Date": "\u65e5\u4ed8\u3092\u9078\u629e",
    "Choose a Time": "\u6642\u9593\u3092\u9078\u629e",
    "Choose a time": "\u6642\u9593\u3092\u9078\u629e",
    "Choose all %s": "%s\u3092\u3059\u3079\u3066\u9078\u629e",
    "Choose selected %s": "\u9078\u629e\u3055\u308c\u305f%s\u3092\u9078\u629e",
    "Chosen %s": "\u9078\u629e\u3055\u308c\u305f %s",
    "December": "12\u6708",
    "Failed": "\u5931\u6557",
    "February": "2\u6708",
    "Filter": "\u30d5\u30a3\u30eb\u30bf\u30fc",
    "Friday": "\u91d1\u66dc\u65e5",
    "January": "1\u6708",
    "July": "7\u6708",
    "June": "6\u6708",
    "March": "3\u6708",
    "May": "5\u6708",
    "Midnight": "0\u6642",
    "Monday": "\u6708\u66dc\u65e5",
    "Noon": "12\u6642",
    "Not saved (%(key)s): %(error)s": "\u4fdd\u5b58\u3055\u308c\u307e\u305b\u3093\u3067\u3057\u305f (%(key)s): %(error)s",
    "Note: You are %s hour ahead of server time.": [
      "\u30ce\u30fc\u30c8: \u3042\u306a\u305f\u306e\u74b0\u5883\u306f\u30b5\u30fc\u30d0\u30fc\u6642\u9593\u3088\u308a\u3001%s\u6642\u9593\u9032\u3093\u3067\u3044\u307e\u3059\u3002"
    ],
    "Note: You are %s hour behind server time.": [
      "\u30ce\u30fc\u30c8: \u3042\u306a\u305f\u306e\u74b0\u5883\u306f\u30b5\u30fc\u30d0\u30fc\u6642\u9593\u3088\u308a\u3001%s\u6642\u9593\u9045\u308c\u3066\u3044\u307e\u3059\u3002"
    ],
    "Nothing to undo": "\u5143\u306b\u623b\u3059\u64cd\u4f5c\u306f\u3042\u308a\u307e\u305b\u3093",
    "November": "11\u6708",
    "Now": "\u73fe\u5728",
    "October": "10\u6708",
    "Queued": "\u5f85\u6a5f\u4e2d",
    "Remove %s by selecting them and then select the \"Remove\" arrow button.": "%s\u3092\u524a\u9664\u3059\u308b\u306b\u306f\u3001\u9805\u76ee\u3092\u9078\u629e\u3057\u3066\u304b\u3089\"\u524a\u9664\"\u77e2\u5370\u30dc\u30bf\u30f3\u3092\u9078\u629e\u3057\u307e\u3059\u3002",
    "Remove all %s": "%s\u3092\u3059\u3079\u3066\u524a\u9664",
    "Remove selected %s": "\u9078\u629e\u3055\u308c\u305f%s\u3092\u524a\u9664",
    "Running": "\u5b9f\u884c\u4e2d",
    "Saturday": "\u571f\u66dc\u65e5",
    "Saved": "\u4fdd\u5b58\u3057\u307e\u3057\u305f",
    "September": "9\u6708",
    "Succeeded": "\u6210\u529f",
    "Sunday": "\u65e5\u66dc\u65e5",
    "Thursday": "\u6728\u66dc\u65e5",
    "Today": "\u4eca\u65e5",
    "Tomorrow": "\u660e\u65e5",
    "Tuesday": "\u706b\u66dc\u65e5",
    "Type into this box to filter down the list of available %s.": "\u4f7f\u7528\u53ef\u80fd\u306a %s \u306e\u30ea\u30b9\u30c8\u3092\u7d5e\u308a\u8fbc\u3080\u306b\u306f\u3001\u3053\u306e\u30dc\u30c3\u30af\u30b9\u306b\u5165\u529b\u3057\u307e\u3059\u3002",
    "Type into this box to filter down the list of selected %s.": "\u9078\u629e\u3055\u308c\u305f%s\u306e\u30ea\u30b9\u30c8\u3092\u7d5e\u308a\u8fbc\u3080\u306b\u306f\u3001\u3053\u306e\u30dc\u30c3\u30af\u30b9\u306b\u5165\u529b\u3057\u307e\u3059\u3002",
    "Wednesday": "\u6c34\u66dc\u65e5",
    "Yesterday": "\u6628\u65e5",
    "You have selected an action, and you haven\u2019t made any changes on individual fields. You\u2019re probably looking for the Go button rather than the Save button.": "\u64cd\u4f5c\u3092\u9078\u629e\u3057\u307e\u3057\u305f\u304c\u3001\u30d5\u30a3\u30fc\u30eb\u30c9\u306b\u5909\u66f4\u306f\u3042\u308a\u307e\u305b\u3093\u3067\u3057\u305f\u3002\u3082\u3057\u304b\u3057\u3066\u4fdd\u5b58\u30dc\u30bf\u30f3\u3067\u306f\u306a\u304f\u3066\u5b9f\u884c\u30dc\u30bf\u30f3\u3092\u304a\u63a2\u3057\u3067\u3059\u304b\u3002",
    "You have selected an action, but you haven\u2019t saved your changes to individual fields yet. Please click OK to save. You\u2019ll need to re-run the action.": "\u64cd\u4f5c\u3092\u9078\u629e\u3057\u307e\u3057\u305f\u304c\u3001\u30d5\u30a3\u30fc\u30eb\u30c9\u306b\u672a\u4fdd\u5b58\u306e\u5909\u66f4\u304c\u3042\u308a\u307e\u3059\u3002OK\u3092\u30af\u30ea\u30c3\u30af\u3057\u3066\u4fdd\u5b58\u3057\u3066\u304f\u3060\u3055\u3044\u3002\u305d\u306e\u5f8c\u3001\u64cd\u4f5c\u3092\u518d\u5ea6\u5b9f\u884c\u3059\u308b\u5fc5\u8981\u304c\u3042\u308a\u307e\u3059\u3002",
    "You have unsaved changes on individual editable fields. If you run an action, your unsaved changes will be lost.": "\u30d5\u30a3\u30fc\u30eb\u30c9\u306b\u672a\u4fdd\u5b58\u306e\u5909\u66f4\u304c\u3042\u308a\u307e\u3059\u3002\u64cd\u4f5c\u3092\u5b9f\u884c\u3059\u308b\u3068\u672a\u4fdd\u5b58\u306e\u5909\u66f4\u306f\u5931\u308f\u308c\u307e\u3059\u3002",
    "abbrev. day Friday\u0004Fri": "\u91d1",
    "abbrev. day Monday\u0004Mon": "\u6708",
    "abbrev. day Saturday\u0004Sat": "\u571f",
    "abbrev. day Sunday\u0004Sun": "\u65e5",
    "abbrev. day Thursday\u0004Thur": "\u6728",
    "abbrev. day Tuesday\u0004Tue": "\u706b",
    "abbrev. day Wednesday\u0004Wed": "\u6c34",
    "abbrev. month April\u0004Apr": "4\u6708",
    "abbrev. month August\u0004Aug": "8\u6708",
    "abbrev. month December\u0004Dec": "12\u6708",
    "abbrev. month February\u0004Feb": "2\u6708",
    "abbrev. month January\u0004Jan": "1\u6708",
    "abbrev. month July\u0004Jul": "7\u6708",
    "abbrev. month June\u0004Jun": "6\u6708",
    "abbrev. month March\u0004Mar": "3\u6708",
    "abbrev. month May\u0004May": "5\u6708",
    "abbrev. month November\u0004Nov": "11\u6708",
    "abbrev. month October\u0004Oct": "10\u6708",
    "abbrev. month September\u0004Sep": "9\u6708",
    "one letter Friday\u0004F": "\u91d1",
    "one letter Monday\u0004M": "\u6708",
    "one letter Saturday\u0004S": "\u571f",
    "one letter Sunday\u0004S": "\u65e5",
    "one letter Thursday\u0004T": "\u6728",
    "one letter Tuesday\u0004T": "\u706b",
    "one letter Wednesday\u0004W": "\u6c34",
    "review scope\u0004kept": "\u63a1\u7528",
    "review scope\u0004pending": "\u672a\u6c7a\u5b9a",
    "review scope\u0004rejected": "\u5374\u4e0b",
    "seed %s": "\u30b7\u30fc\u30c9 %s"
  };
  for (const key in newcatalog) {
    django.catalog[key] = newcatalog[key];
  }
  

  if (!django.jsi18n_initialized) {
    django.gettext = function(msgid) {
      const value = django.catalog[msgid];
      if (typeof value === 'undefined') {
        return msgid;
      } else {
        return (typeof value === 'string') ? value : value[0];
      }
    };

    django.ngettext = function(singular, plural, count) {
      const value = django.catalog[singular];
      if (typeof value === 'undefined') {
        return (count == 1) ? singular : plural;
      } else {
        return value.constructor === Array ? value[django.pluralidx(count)] : value;
      }
    };

    django.gettext_noop = function(msgid) { return msgid; };

    django.pgettext = function(context, msgid) {
      let value = django.gettext(context + '\x04' + msgid);
      if (value.includes('\x04')) {
        value = msgid;
      }
      return value;
    };

    django.npgettext = function(context, singular, plural, count) {
      let value = django.ngettext(context + '\x04' + singular, context + '\x04' + plural, count);
      if (value.includes('\x04')) {
        value = django.ngettext(singular, plural, count);
      }
      return value;
    };

    django.interpolate = function(fmt, obj, named) {
      if (named) {
        return fmt.replace(/%\(\w+\)s/g, function(match){return String(obj[match.slice(2,-2)])});
      } else {
        return fmt.replace(/%s/g, function(match){return String(obj.shift())});
      }
    };


    /* formatting library */

    django.formats = {
    "DATETIME_FORMAT": "Y\u5e74n\u6708j\u65e5G:i",
    "DATETIME_INPUT_FORMATS": [
      "%Y-%m-%d %H:%M:%S",
      "%Y-%m-%d %H:%M:%S.%f",
      "%Y-%m-%d %H:%M",
      "%m/%d/%Y %H:%M:%S",
      "%m/%d/%Y %H:%M:%S.%f",
      "%m/%d/%Y %H:%M",
      "%m/%d/%y %H:%M:%S",
      "%m/%d/%y %H:%M:%S.%f",
      "%m/%d/%y %H:%M"
    ],
    "DATE_FORMAT": "Y\u5e74n\u6708j\u65e5",
    "DATE_INPUT_FORMATS": [
      "%Y-%m-%d",
      "%m/%d/%Y",
      "%m/%d/%y",
      "%b %d %Y",
      "%b %d, %Y",
      "%d %b %Y",
      "%d %b, %Y",
      "%B %d %Y",
      "%B %d, %Y",
      "%d %B %Y",
      "%d %B, %Y"
    ],
    "DECIMAL_SEPARATOR": ".",
    "FIRST_DAY_OF_WEEK": 0,
    "MONTH_DAY_FORMAT": "n\u6708j\u65e5",
    "NUMBER_GROUPING": 3,
    "SHORT_DATETIME_FORMAT": "Y/m/d G:i",
    "SHORT_DATE_FORMAT": "Y/m/d",
    "THOUSAND_SEPARATOR": ",",
    "TIME_FORMAT": "G:i",
    "TIME_INPUT_FORMATS": [
      "%H:%M:%S",
      "%H:%M:%S.%f",
      "%H:%M"
    ],
    "YEAR_MONTH_FORMAT": "Y\u5e74n\u6708"
  };

    django.get_format = function(format_type) {
      const value = django.formats[format_type];
      if (typeof value === 'undefined') {
        return format_type;
      } else {
        return value;
      }
    };

    /* add to global namespace */
    globals.pluralidx = django.pluralidx;
    globals.gettext = django.gettext;
    globals.ngettext = django.ngettext;
    globals.gettext_noop = django.gettext_noop;
    globals.pgettext = django.pgettext;
    globals.npgettext = django.npgettext;
    globals.interpolate = django.interpolate;
    globals.get_format = django.get_format;

    django.jsi18n_initialized = true;
  }
};

