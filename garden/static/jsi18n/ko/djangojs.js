
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
    "%(count)s queued": "\ub300\uae30 %(count)s\uac74",
    "%(count)s running": "\uc2e4\ud589 \uc911 %(count)s\uac74",
    "%(label)s: image %(number)s for the prompt: %(prompt)s": "%(label)s: \ud504\ub86c\ud504\ud2b8\ub85c \ub9cc\ub4e0 \uadf8\ub9bc %(number)s: %(prompt)s",
    "%(low)s to %(high)s": "%(low)s~%(high)s\uc138",
    "%(low)s to %(high)s (%(gender)s, %(generation)s)": "%(low)s~%(high)s\uc138 (%(gender)s, %(generation)s)",
    "%(n)s of %(total)s": "%(total)s\uc7a5 \uc911 %(n)s\ubc88\uc9f8",
    "%(picture)s, %(scene)s": "%(picture)s, %(scene)s",
    "%(problem)s Retrying\u2026": "%(problem)s \ub2e4\uc2dc \uc2dc\ub3c4\ud558\ub294 \uc911\u2026",
    "%(sel)s of %(cnt)s selected": [
      "%(sel)s\uac1c\uac00 %(cnt)s\uac1c \uc911\uc5d0 \uc120\ud0dd\ub428."
    ],
    "%(text)s (%(details)s)": "%(text)s (%(details)s)",
    "%s min": "%s\ubd84",
    "%s s": "%s\ucd08",
    "%s selected option not visible": [
      "%s \uc120\ud0dd\ub41c \uc635\uc158\uc740 \ud45c\uc2dc\ub418\uc9c0 \uc54a\uc2b5\ub2c8\ub2e4."
    ],
    "(click to clear)": "(\ud074\ub9ad\ud558\uc5ec \ud574\uc81c)",
    "6 a.m.": "\uc624\uc804 6\uc2dc",
    "6 p.m.": "\uc624\ud6c4 6\uc2dc",
    "A picture painted for you is ready.": "\ub2f9\uc2e0\uc744 \uc704\ud574 \uadf8\ub9b0 \uadf8\ub9bc\uc774 \uc644\uc131\ub418\uc5c8\uc2b5\ub2c8\ub2e4.",
    "Angry": "\ud654\ub0a8",
    "April": "4\uc6d4",
    "August": "8\uc6d4",
    "Available %s": "\uc774\uc6a9 \uac00\ub2a5\ud55c %s",
    "Calm": "\ud3c9\uc628",
    "Camera permission was refused. Allow the camera and press Start camera.": "\uce74\uba54\ub77c \uad8c\ud55c\uc774 \uac70\ubd80\ub418\uc5c8\uc2b5\ub2c8\ub2e4. \uce74\uba54\ub77c\ub97c \ud5c8\uc6a9\ud55c \ub4a4 \u2018\uce74\uba54\ub77c \ucf1c\uae30\u2019\ub97c \ub204\ub974\uc138\uc694.",
    "Cancel": "\ucde8\uc18c",
    "Cancelled": "\ucde8\uc18c\ub428",
    "Cancelled.": "\ucde8\uc18c\ub418\uc5c8\uc2b5\ub2c8\ub2e4.",
    "Choose %s by selecting them and then select the \"Choose\" arrow button.": "%s \uc120\ud0dd \ud6c4 \"\uc120\ud0dd\" \ud654\uc0b4\ud45c \ubc84\ud2bc\uc744 \ub204\ub974\uc138\uc694.",
    "Choose a Date": "\uc2dc\uac04 \uc120\ud0dd",
    "Choose a Time": "\uc2dc\uac04 \uc120\ud0dd",
    "Choose a time": "\uc2dc\uac04 \uc120\ud0dd",
    "Choose all %s": "\ubaa8\ub4e0 %s \uc120\ud0dd",
    "Choose selected %s": "\uc120\ud0dd\ud55c %s \uc120\ud0dd",
    "Chosen %s": "\uc120\ud0dd\ub41c %s",
    "Confused": "\ud63c\ub780",
    "Connection problem: retrying\u2026": "\uc5f0\uacb0 \ubb38\uc81c\ub85c \ub2e4\uc2dc \uc2dc\ub3c4\ud558\ub294 \uc911\u2026",
    "December": "12\uc6d4",
    "Disgusted": "\ud610\uc624",
    "Done": "\uc644\ub8cc",
    "Done: %(count)s image.": [
      "\uc644\ub8cc: \uadf8\ub9bc %(count)s\uc7a5."
    ],
    "Done: %(count)s picture.": [
      "\uc644\ub8cc: \uadf8\ub9bc %(count)s\uc7a5."
    ],
    "Failed": "\uc2e4\ud328",
    "Failed: %(error)s": "\uc2e4\ud328\ud588\uc2b5\ub2c8\ub2e4: %(error)s",
    "Fear": "\ub450\ub824\uc6c0",
    "February": "2\uc6d4",
    "Filter": "\ud544\ud130",
    "Friday": "\uae08\uc694\uc77c",
    "GPU pool: %(count)s worker answering": [
      "GPU \ud480: \uc751\ub2f5\ud558\ub294 \uc6cc\ucee4 %(count)s\uac1c"
    ],
    "GPU pool: unknown (%(problem)s)": "GPU \ud480: \uc54c \uc218 \uc5c6\uc74c (%(problem)s)",
    "Generating\u2026 %(percent)s (step %(done)s of %(total)s)": "\uc0dd\uc131 \uc911\u2026 %(percent)s (%(total)s\ub2e8\uacc4 \uc911 %(done)s\ub2e8\uacc4)",
    "Growing your garden\u2026": "\uc815\uc6d0\uc744 \ubd88\ub7ec\uc624\ub294 \uc911\u2026",
    "Happy": "\ud589\ubcf5",
    "Height": "\ub192\uc774",
    "Image %(first)s of %(total)s": "%(total)s\uc7a5 \uc911 %(first)s\ubc88\uc9f8",
    "Image %(first)s of %(total)s, and one painted for you": "%(total)s\uc7a5 \uc911 %(first)s\ubc88\uc9f8, \uadf8\ub9ac\uace0 \ub2f9\uc2e0\uc744 \uc704\ud574 \uadf8\ub9b0 \uadf8\ub9bc \ud55c \uc7a5",
    "Images %(first)s\u2013%(last)s of %(total)s": "%(total)s\uc7a5 \uc911 %(first)s\u2013%(last)s",
    "Images %(first)s\u2013%(last)s of %(total)s, and one painted for you": "%(total)s\uc7a5 \uc911 %(first)s\u2013%(last)s, \uadf8\ub9ac\uace0 \ub2f9\uc2e0\uc744 \uc704\ud574 \uadf8\ub9b0 \uadf8\ub9bc \ud55c \uc7a5",
    "January": "1\uc6d4",
    "July": "7\uc6d4",
    "June": "6\uc6d4",
    "Kept in the pool: ready for promotion.": "\ud480\uc5d0 \ubcf4\uad00\ud588\uc2b5\ub2c8\ub2e4. \uc774\uc81c \uc2b9\uaca9\ud560 \uc218 \uc788\uc2b5\ub2c8\ub2e4.",
    "Like": "\uc88b\uc544\uc694",
    "Liked": "\uc88b\uc544\uc694 \uc644\ub8cc",
    "Looking at the photo\u2026": "\ubd84\uc11d \uc911\u2026",
    "March": "3\uc6d4",
    "May": "5\uc6d4",
    "Midnight": "\uc790\uc815",
    "Monday": "\uc6d4\uc694\uc77c",
    "Network problem: the garden could not be loaded. Press Capture to try again.": "\ub124\ud2b8\uc6cc\ud06c \uc624\ub958\ub85c \uc815\uc6d0\uc744 \ubd88\ub7ec\uc624\uc9c0 \ubabb\ud588\uc2b5\ub2c8\ub2e4. \ud45c\uc815 \ubd84\uc11d \ubc84\ud2bc\uc744 \ub20c\ub7ec \ub2e4\uc2dc \uc2dc\ub3c4\ud574 \uc8fc\uc138\uc694.",
    "Network problem: the garden could not be reached. Try again.": "\ub124\ud2b8\uc6cc\ud06c \uc624\ub958\ub85c \uc815\uc6d0\uc5d0 \uc5f0\uacb0\ud558\uc9c0 \ubabb\ud588\uc2b5\ub2c8\ub2e4. \ub2e4\uc2dc \uc2dc\ub3c4\ud574 \uc8fc\uc138\uc694.",
    "Network problem: the server could not be reached.": "\ub124\ud2b8\uc6cc\ud06c \uc624\ub958: \uc11c\ubc84\uc5d0 \uc5f0\uacb0\ud560 \uc218 \uc5c6\uc2b5\ub2c8\ub2e4.",
    "No camera found. Connect one and press Start camera.": "\uce74\uba54\ub77c\ub97c \ucc3e\uc744 \uc218 \uc5c6\uc2b5\ub2c8\ub2e4. \uce74\uba54\ub77c\ub97c \uc5f0\uacb0\ud55c \ub4a4 \u2018\uce74\uba54\ub77c \ucf1c\uae30\u2019\ub97c \ub204\ub974\uc138\uc694.",
    "No face found. Look straight at the camera and try again.": "\uc5bc\uad74\uc744 \ucc3e\uc9c0 \ubabb\ud588\uc2b5\ub2c8\ub2e4. \uce74\uba54\ub77c\ub97c \ubc14\ub77c\ubcf4\uace0 \ub2e4\uc2dc \uc2dc\ub3c4\ud574 \uc8fc\uc138\uc694.",
    "No images for this expression yet.": "\uc774 \ud45c\uc815\uc758 \uadf8\ub9bc\uc774 \uc544\uc9c1 \uc5c6\uc2b5\ub2c8\ub2e4.",
    "No images for this favorite yet. Try another favorite or \u201cAny\u201d.": "\uc774 \uc870\ud569\uc758 \uadf8\ub9bc\uc774 \uc544\uc9c1 \uc5c6\uc2b5\ub2c8\ub2e4. \ub2e4\ub978 \ud48d\uacbd\uc774\ub098 \u201c\uc0c1\uad00\uc5c6\uc74c\u201d\uc744 \uace8\ub77c \ubcf4\uc138\uc694.",
    "No pictures for this favorite yet: here are gardens for your mood with other favorites.": "\uc774 \uc870\ud569\uc758 \uadf8\ub9bc\uc774 \uc544\uc9c1 \uc5c6\uc2b5\ub2c8\ub2e4. \uac19\uc740 \ud45c\uc815\uc758 \ub2e4\ub978 \ud48d\uacbd \uc815\uc6d0\uc744 \ubcf4\uc5ec \ub4dc\ub9bd\ub2c8\ub2e4.",
    "Noon": "\uc815\uc624",
    "Not saved (%(key)s): %(error)s": "\uc800\uc7a5\ub418\uc9c0 \uc54a\uc74c (%(key)s): %(error)s",
    "Not started.": "\uc2dc\uc791\ud558\uc9c0 \ubabb\ud588\uc2b5\ub2c8\ub2e4.",
    "Note: You are %s hour ahead of server time.": [
      "Note: \uc11c\ubc84 \uc2dc\uac04\ubcf4\ub2e4 %s \uc2dc\uac04 \ube60\ub985\ub2c8\ub2e4."
    ],
    "Note: You are %s hour behind server time.": [
      "Note: \uc11c\ubc84 \uc2dc\uac04\ubcf4\ub2e4 %s \uc2dc\uac04 \ub2a6\uc740 \uc2dc\uac04\uc785\ub2c8\ub2e4."
    ],
    "Nothing to undo": "\uc2e4\ud589 \ucde8\uc18c\ud560 \uac83\uc774 \uc5c6\uc2b5\ub2c8\ub2e4",
    "November": "11\uc6d4",
    "Now": "\ud604\uc7ac",
    "Number of images": "\uadf8\ub9bc \uc218",
    "October": "10\uc6d4",
    "Only a few pictures for this favorite so far: gardens for your mood with other favorites follow them.": "\uc774 \uc870\ud569\uc758 \uadf8\ub9bc\uc740 \uc544\uc9c1 \uba87 \uc7a5\ubfd0\uc785\ub2c8\ub2e4. \uadf8 \ub4a4\ub85c \uac19\uc740 \ud45c\uc815\uc758 \ub2e4\ub978 \ud48d\uacbd \uc815\uc6d0\uc774 \uc774\uc5b4\uc9d1\ub2c8\ub2e4.",
    "Paint a mask first.": "\uba3c\uc800 \ub9c8\uc2a4\ud06c\ub97c \uce60\ud574 \uc8fc\uc138\uc694.",
    "Painted for you": "\ub2f9\uc2e0\uc744 \uc704\ud574 \uadf8\ub9b0 \uadf8\ub9bc",
    "Painting a picture for you\u2026": "\ub2f9\uc2e0\uc744 \uc704\ud55c \uadf8\ub9bc\uc744 \uadf8\ub9ac\ub294 \uc911\uc785\ub2c8\ub2e4\u2026",
    "Painting another picture from the one you liked\u2026": "\uc88b\uc544\uc694\ud55c \uadf8\ub9bc\uc73c\ub85c \uc0c8 \uadf8\ub9bc\uc744 \uadf8\ub9ac\ub294 \uc911\uc785\ub2c8\ub2e4\u2026",
    "Pick a season, a weather and a time, or set all three to \u201cAny\u201d.": "\uacc4\uc808, \ub0a0\uc528, \uc2dc\uac04\uc744 \ubaa8\ub450 \uace0\ub974\uac70\ub098 \uc138 \uac00\uc9c0 \ubaa8\ub450 \u201c\uc0c1\uad00\uc5c6\uc74c\u201d\uc73c\ub85c \ub450\uc138\uc694.",
    "Press Capture to begin": "\ud45c\uc815 \ubd84\uc11d \ubc84\ud2bc\uc744 \ub20c\ub7ec \uc2dc\uc791\ud558\uc138\uc694",
    "Prompt": "\ud504\ub86c\ud504\ud2b8",
    "QR code to this image's page": "\uc774 \uadf8\ub9bc\uc758 \ud398\uc774\uc9c0\ub85c \uac00\ub294 QR \ucf54\ub4dc",
    "Queued": "\ub300\uae30 \uc911",
    "Queued \u2014 position %(position)s": "\ub300\uae30 \uc911 \u2014 %(position)s\ubc88\uc9f8",
    "Remove %s by selecting them and then select the \"Remove\" arrow button.": "%s \uc120\ud0dd \ud6c4 \"\uc0ad\uc81c\ud558\uae30\" \ud654\uc0b4\ud45c \ubc84\ud2bc\uc744 \ub204\ub974\uc138\uc694.",
    "Remove all %s": "\ubaa8\ub4e0 %s \uc0ad\uc81c",
    "Remove selected %s": "\uc120\ud0dd\ud55c %s \uc0ad\uc81c",
    "Repainting\u2026 %(percent)s (step %(done)s of %(total)s)": "\ub2e4\uc2dc \uadf8\ub9ac\ub294 \uc911\u2026 %(percent)s (%(total)s\ub2e8\uacc4 \uc911 %(done)s\ub2e8\uacc4)",
    "Result: %(emotion)s": "\ubd84\uc11d \uacb0\uacfc: %(emotion)s",
    "Retouching is not configured: set %(setting)s.": "\ubd80\ubd84 \uc218\uc815\uc774 \uc124\uc815\ub418\uc9c0 \uc54a\uc558\uc2b5\ub2c8\ub2e4: %(setting)s \uac12\uc744 \uc9c0\uc815\ud574 \uc8fc\uc138\uc694.",
    "Running": "\uc2e4\ud589 \uc911",
    "Sad": "\uc2ac\ud514",
    "Saturday": "\ud1a0\uc694\uc77c",
    "Saved": "\uc800\uc7a5\ub428",
    "Scan to take it home": "\ud734\ub300\ud3f0\uc73c\ub85c \uc2a4\uce94\ud574 \uac00\uc838\uac00\uc138\uc694",
    "Score %(score)s: add to the prompt": "\uc810\uc218 %(score)s: \ud504\ub86c\ud504\ud2b8\uc5d0 \ucd94\uac00",
    "September": "9\uc6d4",
    "Started over for the next visitor.": "\ub2e4\uc74c \ubc29\ubb38\uc790\ub97c \uc704\ud574 \ucc98\uc74c\uc73c\ub85c \ub3cc\uc544\uc654\uc2b5\ub2c8\ub2e4.",
    "Starting over in %(seconds)s s. Touch the screen or press any key to stay.": "%(seconds)s\ucd08 \ud6c4 \ucc98\uc74c\uc73c\ub85c \ub3cc\uc544\uac11\ub2c8\ub2e4. \uacc4\uc18d\ud558\ub824\uba74 \ud654\uba74\uc744 \ud130\uce58\ud558\uac70\ub098 \uc544\ubb34 \ud0a4\ub098 \ub204\ub974\uc138\uc694.",
    "Starting the camera\u2026": "\uce74\uba54\ub77c\ub97c \ucf1c\ub294 \uc911\u2026",
    "Submitting\u2026": "\uc694\uccad\ud558\ub294 \uc911\u2026",
    "Succeeded": "\uc131\uacf5",
    "Sunday": "\uc77c\uc694\uc77c",
    "Surprised": "\ub180\ub78c",
    "The camera stopped. Reconnecting it\u2026": "\uce74\uba54\ub77c\uac00 \uba48\ucdc4\uc5b4\uc694. \ub2e4\uc2dc \uc5f0\uacb0\ud558\ub294 \uc911\u2026",
    "The expression service failed. Try again in a moment.": "\ubd84\uc11d\uc5d0 \uc2e4\ud328\ud588\uc2b5\ub2c8\ub2e4. \uc7a0\uc2dc \ud6c4 \ub2e4\uc2dc \uc2dc\ub3c4\ud574 \uc8fc\uc138\uc694.",
    "The garden could not be loaded. Try again in a moment.": "\uc815\uc6d0\uc744 \ubd88\ub7ec\uc624\uc9c0 \ubabb\ud588\uc2b5\ub2c8\ub2e4. \uc7a0\uc2dc \ud6c4 \ub2e4\uc2dc \uc2dc\ub3c4\ud574 \uc8fc\uc138\uc694.",
    "The picture could not be loaded.": "\uadf8\ub9bc\uc744 \ubd88\ub7ec\uc624\uc9c0 \ubabb\ud588\uc2b5\ub2c8\ub2e4.",
    "The picture is larger than the server accepts.": "\uadf8\ub9bc\uc774 \uc11c\ubc84\uac00 \ubc1b\uc744 \uc218 \uc788\ub294 \ud06c\uae30\ubcf4\ub2e4 \ud07d\ub2c8\ub2e4.",
    "This browser has no camera access (it needs HTTPS or localhost).": "\uc774 \ube0c\ub77c\uc6b0\uc800\uc5d0\uc11c\ub294 \uce74\uba54\ub77c\ub97c \uc0ac\uc6a9\ud560 \uc218 \uc5c6\uc2b5\ub2c8\ub2e4(HTTPS \ub610\ub294 localhost\uac00 \ud544\uc694\ud569\ub2c8\ub2e4).",
    "Thursday": "\ubaa9\uc694\uc77c",
    "Today": "\uc624\ub298",
    "Tomorrow": "\ub0b4\uc77c",
    "Tuesday": "\ud654\uc694\uc77c",
    "Type into this box to filter down the list of available %s.": "\uc0ac\uc6a9 \uac00\ub2a5\ud55c %s \ub9ac\uc2a4\ud2b8\ub97c \ud544\ud130\ub9c1\ud558\ub824\uba74 \uc774 \uc0c1\uc790\uc5d0 \uc785\ub825\ud558\uc138\uc694.",
    "Type into this box to filter down the list of selected %s.": "\uc120\ud0dd\ub41c %s\uc758 \ub9ac\uc2a4\ud2b8\ub97c \ud544\ud130\ub9c1 \ud558\ub824\uba74 \uc774 \ubc15\uc2a4\uc5d0 \uc785\ub825 \ud558\uc138\uc694 .",
    "Wednesday": "\uc218\uc694\uc77c",
    "Width": "\ub108\ube44",
    "Write a prompt first.": "\uba3c\uc800 \ud504\ub86c\ud504\ud2b8\ub97c \uc785\ub825\ud574 \uc8fc\uc138\uc694.",
    "Yesterday": "\uc5b4\uc81c",
    "You have selected an action, and you haven\u2019t made any changes on individual fields. You\u2019re probably looking for the Go button rather than the Save button.": "\uac1c\ubcc4 \ud544\ub4dc\uc5d0 \uc544\ubb34\ub7f0 \ubcc0\uacbd\uc774 \uc5c6\ub294 \uc0c1\ud0dc\ub85c \uc561\uc158\uc744 \uc120\ud0dd\ud588\uc2b5\ub2c8\ub2e4. \uc800\uc7a5 \ubc84\ud2bc\uc774 \uc544\ub2c8\ub77c \uc9c4\ud589 \ubc84\ud2bc\uc744 \ucc3e\uc544\ubcf4\uc138\uc694.",
    "You have selected an action, but you haven\u2019t saved your changes to individual fields yet. Please click OK to save. You\u2019ll need to re-run the action.": "\uac1c\ubcc4 \ud544\ub4dc\uc758 \uac12\ub4e4\uc744 \uc800\uc7a5\ud558\uc9c0 \uc54a\uace0 \uc561\uc158\uc744 \uc120\ud0dd\ud588\uc2b5\ub2c8\ub2e4. OK\ub97c \ub204\ub974\uba74 \uc800\uc7a5\ub418\uba70, \uc561\uc158\uc744 \ud55c \ubc88 \ub354 \uc2e4\ud589\ud574\uc57c \ud569\ub2c8\ub2e4.",
    "You have unsaved changes on individual editable fields. If you run an action, your unsaved changes will be lost.": "\uac1c\ubcc4 \ud3b8\uc9d1 \uac00\ub2a5\ud55c \ud544\ub4dc\uc5d0 \uc800\uc7a5\ub418\uc9c0 \uc54a\uc740 \uac12\uc774 \uc788\uc2b5\ub2c8\ub2e4. \uc561\uc158\uc744 \uc218\ud589\ud558\uba74 \uc800\uc7a5\ub418\uc9c0 \uc54a\uc740 \uac12\ub4e4\uc744 \uc783\uc5b4\ubc84\ub9ac\uac8c \ub429\ub2c8\ub2e4.",
    "Your garden appears here after the capture.": "\ud45c\uc815\uc744 \ubd84\uc11d\ud558\uba74 \uc5ec\uae30\uc5d0 \uc815\uc6d0\uc774 \ub098\ud0c0\ub0a9\ub2c8\ub2e4.",
    "Your garden is ready.": "\uc815\uc6d0\uc774 \uc900\ube44\ub418\uc5c8\uc2b5\ub2c8\ub2e4.",
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
    "about %s left": "\uc57d %s \ub0a8\uc74c",
    "adult": "\uc131\uc778",
    "beard": "\ud131\uc218\uc5fc",
    "broker: %(problem)s": "\ube0c\ub85c\ucee4: %(problem)s",
    "child": "\uc5b4\ub9b0\uc774",
    "elder": "\ub178\ub144",
    "eyeglasses": "\uc548\uacbd",
    "eyes open": "\ub208 \ub738",
    "female": "\uc5ec\uc790",
    "garden painting for a %(mood)s mood": "\u2018%(mood)s\u2019 \ud45c\uc815\uc5d0 \uc5b4\uc6b8\ub9ac\ub294 \uc815\uc6d0 \uadf8\ub9bc",
    "garden painting for a %(mood)s mood, painted just for you": "\ubc29\uae08 \ub2f9\uc2e0\ub9cc\uc744 \uc704\ud574 \uadf8\ub9b0 \u2018%(mood)s\u2019 \ud45c\uc815\uc758 \uc815\uc6d0 \uadf8\ub9bc",
    "male": "\ub0a8\uc790",
    "middle age": "\uc911\ub144",
    "mouth open": "\uc785 \ubc8c\ub9bc",
    "mustache": "\ucf67\uc218\uc5fc",
    "none": "\uc5c6\uc74c",
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
    "seed %s": "\uc2dc\ub4dc %s",
    "smiling": "\uc6c3\uc74c",
    "sunglasses": "\uc120\uae00\ub77c\uc2a4",
    "teenager": "\uccad\uc18c\ub144",
    "toddler": "\uc720\uc544",
    "unknown error": "\uc54c \uc218 \uc5c6\ub294 \uc624\ub958",
    "young adult": "\uccad\ub144"
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
    "DATETIME_FORMAT": "Y-m-d H:i:s",
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
    "SHORT_DATETIME_FORMAT": "Y-m-d H:i:s",
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

