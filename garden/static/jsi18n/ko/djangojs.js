
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
    "#%s in queue": "\ub300\uae30\uc5f4 %s\ubc88\uc9f8",
    "%(sel)s of %(cnt)s selected": [
      "%(sel)s\uac1c\uac00 %(cnt)s\uac1c \uc911\uc5d0 \uc120\ud0dd\ub428."
    ],
    "%s s": "%s\ucd08",
    "%s selected option not visible": [
      "%s \uc120\ud0dd\ub41c \uc635\uc158\uc740 \ud45c\uc2dc\ub418\uc9c0 \uc54a\uc2b5\ub2c8\ub2e4."
    ],
    "(click to clear)": "(\ud074\ub9ad\ud558\uc5ec \ud574\uc81c)",
    "6 a.m.": "\uc624\uc804 6\uc2dc",
    "6 p.m.": "\uc624\ud6c4 6\uc2dc",
    "April": "4\uc6d4",
    "August": "8\uc6d4",
    "Available %s": "\uc774\uc6a9 \uac00\ub2a5\ud55c %s",
    "Cancel": "\ucde8\uc18c",
    "Cancelled": "\ucde8\uc18c\ub428",
    "Choose %s by selecting them and then select the \"Choose\" arrow button.": "%s \uc120\ud0dd \ud6c4 \"\uc120\ud0dd\" \ud654\uc0b4\ud45c \ubc84\ud2bc\uc744 \ub204\ub974\uc138\uc694.",
    "Choose a Date": "\uc2dc\uac04 \uc120\ud0dd",
    "Choose a Time": "\uc2dc\uac04 \uc120\ud0dd",
    "Choose a time": "\uc2dc\uac04 \uc120\ud0dd",
    "Choose all %s": "\ubaa8\ub4e0 %s \uc120\ud0dd",
    "Choose selected %s": "\uc120\ud0dd\ud55c %s \uc120\ud0dd",
    "Chosen %s": "\uc120\ud0dd\ub41c %s",
    "December": "12\uc6d4",
    "Failed": "\uc2e4\ud328",
    "February": "2\uc6d4",
    "Filter": "\ud544\ud130",
    "Friday": "\uae08\uc694\uc77c",
    "January": "1\uc6d4",
    "July": "7\uc6d4",
    "June": "6\uc6d4",
    "March": "3\uc6d4",
    "May": "5\uc6d4",
    "Midnight": "\uc790\uc815",
    "Monday": "\uc6d4\uc694\uc77c",
    "Noon": "\uc815\uc624",
    "Not saved (%(key)s): %(error)s": "\uc800\uc7a5\ub418\uc9c0 \uc54a\uc74c (%(key)s): %(error)s",
    "Note: You are %s hour ahead of server time.": [
      "Note: \uc11c\ubc84 \uc2dc\uac04\ubcf4\ub2e4 %s \uc2dc\uac04 \ube60\ub985\ub2c8\ub2e4."
    ],
    "Note: You are %s hour behind server time.": [
      "Note: \uc11c\ubc84 \uc2dc\uac04\ubcf4\ub2e4 %s \uc2dc\uac04 \ub2a6\uc740 \uc2dc\uac04\uc785\ub2c8\ub2e4."
    ],
    "Nothing to undo": "\uc2e4\ud589 \ucde8\uc18c\ud560 \uac83\uc774 \uc5c6\uc2b5\ub2c8\ub2e4",
    "November": "11\uc6d4",
    "Now": "\ud604\uc7ac",
    "October": "10\uc6d4",
    "Queued": "\ub300\uae30 \uc911",
    "Remove %s by selecting them and then select the \"Remove\" arrow button.": "%s \uc120\ud0dd \ud6c4 \"\uc0ad\uc81c\ud558\uae30\" \ud654\uc0b4\ud45c \ubc84\ud2bc\uc744 \ub204\ub974\uc138\uc694.",
    "Remove all %s": "\ubaa8\ub4e0 %s \uc0ad\uc81c",
    "Remove selected %s": "\uc120\ud0dd\ud55c %s \uc0ad\uc81c",
    "Running": "\uc2e4\ud589 \uc911",
    "Saturday": "\ud1a0\uc694\uc77c",
    "Saved": "\uc800\uc7a5\ub428",
    "September": "9\uc6d4",
    "Succeeded": "\uc131\uacf5",
    "Sunday": "\uc77c\uc694\uc77c",
    "Thursday": "\ubaa9\uc694\uc77c",
    "Today": "\uc624\ub298",
    "Tomorrow": "\ub0b4\uc77c",
    "Tuesday": "\ud654\uc694\uc77c",
    "Type into this box to filter down the list of available %s.": "\uc0ac\uc6a9 \uac00\ub2a5\ud55c %s \ub9ac\uc2a4\ud2b8\ub97c \ud544\ud130\ub9c1\ud558\ub824\uba74 \uc774 \uc0c1\uc790\uc5d0 \uc785\ub825\ud558\uc138\uc694.",
    "Type into this box to filter down the list of selected %s.": "\uc120\ud0dd\ub41c %s\uc758 \ub9ac\uc2a4\ud2b8\ub97c \ud544\ud130\ub9c1 \ud558\ub824\uba74 \uc774 \ubc15\uc2a4\uc5d0 \uc785\ub825 \ud558\uc138\uc694 .",
    "Wednesday": "\uc218\uc694\uc77c",
    "Yesterday": "\uc5b4\uc81c",
    "You have selected an action, and you haven\u2019t made any changes on individual fields. You\u2019re probably looking for the Go button rather than the Save button.": "\uac1c\ubcc4 \ud544\ub4dc\uc5d0 \uc544\ubb34\ub7f0 \ubcc0\uacbd\uc774 \uc5c6\ub294 \uc0c1\ud0dc\ub85c \uc561\uc158\uc744 \uc120\ud0dd\ud588\uc2b5\ub2c8\ub2e4. \uc800\uc7a5 \ubc84\ud2bc\uc774 \uc544\ub2c8\ub77c \uc9c4\ud589 \ubc84\ud2bc\uc744 \ucc3e\uc544\ubcf4\uc138\uc694.",
    "You have selected an action, but you haven\u2019t saved your changes to individual fields yet. Please click OK to save. You\u2019ll need to re-run the action.": "\uac1c\ubcc4 \ud544\ub4dc\uc758 \uac12\ub4e4\uc744 \uc800\uc7a5\ud558\uc9c0 \uc54a\uace0 \uc561\uc158\uc744 \uc120\ud0dd\ud588\uc2b5\ub2c8\ub2e4. OK\ub97c \ub204\ub974\uba74 \uc800\uc7a5\ub418\uba70, \uc561\uc158\uc744 \ud55c \ubc88 \ub354 \uc2e4\ud589\ud574\uc57c \ud569\ub2c8\ub2e4.",
    "You have unsaved changes on individual editable fields. If you run an action, your unsaved changes will be lost.": "\uac1c\ubcc4 \ud3b8\uc9d1 \uac00\ub2a5\ud55c \ud544\ub4dc\uc5d0 \uc800\uc7a5\ub418\uc9c0 \uc54a\uc740 \uac12\uc774 \uc788\uc2b5\ub2c8\ub2e4. \uc561\uc158\uc744 \uc218\ud589\ud558\uba74 \uc800\uc7a5\ub418\uc9c0 \uc54a\uc740 \uac12\ub4e4\uc744 \uc783\uc5b4\ubc84\ub9ac\uac8c \ub429\ub2c8\ub2e4.",
    "abbrev. day Friday\u0004Fri": "\uae08",
    "abbrev. day Monday\u0004Mon": "\uc6d4",
    "abbrev. day Saturday\u0004Sat": "\ud1a0",
    "abbrev. day Sunday\u0004Sun": "\uc77c",
    "abbrev. day Thursday\u0004Thur": "\ubaa9",
    "abbrev. day Tuesday\u0004Tue": "\ud654",
    "abbrev. day Wednesday\u0004Wed": "\uc218",
    "abbrev. month April\u0004Apr": "4\uc6d4",
    "abbrev. month August\u0004Aug": "8\uc6d4",
    "abbrev. month December\u0004Dec": "12\uc6d4",
    "abbrev. month February\u0004Feb": "2\uc6d4",
    "abbrev. month January\u0004Jan": "1\uc6d4",
    "abbrev. month July\u0004Jul": "7\uc6d4",
    "abbrev. month June\u0004Jun": "6\uc6d4",
    "abbrev. month March\u0004Mar": "3\uc6d4",
    "abbrev. month May\u0004May": "5\uc6d4",
    "abbrev. month November\u0004Nov": "11\uc6d4",
    "abbrev. month October\u0004Oct": "10\uc6d4",
    "abbrev. month September\u0004Sep": "9\uc6d4",
    "one letter Friday\u0004F": "\uae08",
    "one letter Monday\u0004M": "\uc6d4",
    "one letter Saturday\u0004S": "\ud1a0",
    "one letter Sunday\u0004S": "\uc77c",
    "one letter Thursday\u0004T": "\ubaa9",
    "one letter Tuesday\u0004T": "\ud654",
    "one letter Wednesday\u0004W": "\uc218",
    "review scope\u0004kept": "\ucc44\ud0dd",
    "review scope\u0004pending": "\ubbf8\uacb0\uc815",
    "review scope\u0004rejected": "\uac70\ubd80",
    "seed %s": "\uc2dc\ub4dc %s"
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
    "DATETIME_FORMAT": "Y\ub144 n\uc6d4 j\uc77c g:i A",
    "DATETIME_INPUT_FORMATS": [
      "%Y-%m-%d %H:%M:%S",
      "%Y-%m-%d %H:%M:%S.%f",
      "%Y-%m-%d %H:%M",
      "%m/%d/%Y %H:%M:%S",
      "%m/%d/%Y %H:%M:%S.%f",
      "%m/%d/%Y %H:%M",
      "%m/%d/%y %H:%M:%S",
      "%m/%d/%y %H:%M:%S.%f",
      "%m/%d/%y %H:%M",
      "%Y\ub144 %m\uc6d4 %d\uc77c %H\uc2dc %M\ubd84 %S\ucd08",
      "%Y\ub144 %m\uc6d4 %d\uc77c %H\uc2dc %M\ubd84",
      "%Y-%m-%d"
    ],
    "DATE_FORMAT": "Y\ub144 n\uc6d4 j\uc77c",
    "DATE_INPUT_FORMATS": [
      "%Y-%m-%d",
      "%m/%d/%Y",
      "%m/%d/%y",
      "%Y\ub144 %m\uc6d4 %d\uc77c"
    ],
    "DECIMAL_SEPARATOR": ".",
    "FIRST_DAY_OF_WEEK": 0,
    "MONTH_DAY_FORMAT": "n\uc6d4 j\uc77c",
    "NUMBER_GROUPING": 3,
    "SHORT_DATETIME_FORMAT": "Y-n-j H:i",
    "SHORT_DATE_FORMAT": "Y-n-j",
    "THOUSAND_SEPARATOR": ",",
    "TIME_FORMAT": "A g:i",
    "TIME_INPUT_FORMATS": [
      "%H:%M:%S",
      "%H:%M:%S.%f",
      "%H:%M",
      "%H\uc2dc %M\ubd84 %S\ucd08",
      "%H\uc2dc %M\ubd84"
    ],
    "YEAR_MONTH_FORMAT": "Y\ub144 n\uc6d4"
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

