
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
    "%(count)s queued": "\u5f85\u6a5f %(count)s \u4ef6",
    "%(count)s running": "\u5b9f\u884c\u4e2d %(count)s \u4ef6",
    "%(label)s: image %(number)s for the prompt: %(prompt)s": "%(label)s\uff1a\u30d7\u30ed\u30f3\u30d7\u30c8\u304b\u3089\u751f\u6210\u3057\u305f\u753b\u50cf %(number)s\uff1a%(prompt)s",
    "%(low)s to %(high)s": "%(low)s\u301c%(high)s\u6b73",
    "%(low)s to %(high)s (%(gender)s, %(generation)s)": "%(low)s\u301c%(high)s\u6b73\uff08%(gender)s\u3001%(generation)s\uff09",
    "%(n)s of %(total)s": "%(total)s\u679a\u4e2d%(n)s\u679a\u76ee",
    "%(picture)s, %(scene)s": "%(picture)s\u3001%(scene)s",
    "%(problem)s Retrying\u2026": "%(problem)s \u518d\u8a66\u884c\u3057\u3066\u3044\u307e\u3059\u2026",
    "%(sel)s of %(cnt)s selected": [
      "%(cnt)s\u500b\u4e2d%(sel)s\u500b\u9078\u629e"
    ],
    "%(text)s (%(details)s)": "%(text)s\uff08%(details)s\uff09",
    "%s min": "%s\u5206",
    "%s s": "%s\u79d2",
    "%s selected option not visible": [
      "\u9078\u629e\u3055\u308c\u305f%s\u4ef6\u306e\u30aa\u30d7\u30b7\u30e7\u30f3\u306f\u975e\u8868\u793a\u3067\u3059\u3002"
    ],
    "(click to clear)": "(\u30af\u30ea\u30c3\u30af\u3067\u30af\u30ea\u30a2)",
    "6 a.m.": "\u5348\u524d 6 \u6642",
    "6 p.m.": "\u5348\u5f8c 6 \u6642",
    "A picture painted for you is ready.": "\u3042\u306a\u305f\u306e\u305f\u3081\u306b\u63cf\u3044\u305f\u7d75\u304c\u3067\u304d\u307e\u3057\u305f\u3002",
    "Angry": "\u6012\u308a",
    "April": "4\u6708",
    "August": "8\u6708",
    "Available %s": "\u5229\u7528\u53ef\u80fd %s",
    "Calm": "\u5b89\u3089\u304e",
    "Camera permission was refused. Allow the camera and press Start camera.": "\u30ab\u30e1\u30e9\u306e\u4f7f\u7528\u304c\u8a31\u53ef\u3055\u308c\u307e\u305b\u3093\u3067\u3057\u305f\u3002\u30ab\u30e1\u30e9\u3092\u8a31\u53ef\u3057\u3066\u304b\u3089\u300c\u30ab\u30e1\u30e9\u3092\u8d77\u52d5\u300d\u3092\u62bc\u3057\u3066\u304f\u3060\u3055\u3044\u3002",
    "Cancel": "\u30ad\u30e3\u30f3\u30bb\u30eb",
    "Cancelled": "\u30ad\u30e3\u30f3\u30bb\u30eb\u6e08\u307f",
    "Cancelled.": "\u30ad\u30e3\u30f3\u30bb\u30eb\u3057\u307e\u3057\u305f\u3002",
    "Choose %s by selecting them and then select the \"Choose\" arrow button.": "%s\u3092\u9078\u629e\u3059\u308b\u306b\u306f\u3001\u9805\u76ee\u3092\u9078\u629e\u3057\u3066\u304b\u3089\"\u9078\u629e\"\u77e2\u5370\u30dc\u30bf\u30f3\u3092\u9078\u629e\u3057\u307e\u3059\u3002",
    "Choose a Date": "\u65e5\u4ed8\u3092\u9078\u629e",
    "Choose a Time": "\u6642\u9593\u3092\u9078\u629e",
    "Choose a time": "\u6642\u9593\u3092\u9078\u629e",
    "Choose all %s": "%s\u3092\u3059\u3079\u3066\u9078\u629e",
    "Choose selected %s": "\u9078\u629e\u3055\u308c\u305f%s\u3092\u9078\u629e",
    "Chosen %s": "\u9078\u629e\u3055\u308c\u305f %s",
    "Confused": "\u6238\u60d1\u3044",
    "Connection problem: retrying\u2026": "\u63a5\u7d9a\u306b\u554f\u984c\u304c\u3042\u308a\u307e\u3059\u3002\u518d\u8a66\u884c\u3057\u3066\u3044\u307e\u3059\u2026",
    "December": "12\u6708",
    "Disgusted": "\u5acc\u60aa",
    "Done": "\u5b8c\u4e86",
    "Done: %(count)s image.": [
      "\u5b8c\u4e86\uff1a\u753b\u50cf %(count)s \u679a\u3002"
    ],
    "Done: %(count)s picture.": [
      "\u5b8c\u4e86\uff1a\u753b\u50cf %(count)s \u679a\u3002"
    ],
    "Failed": "\u5931\u6557",
    "Failed: %(error)s": "\u5931\u6557\u3057\u307e\u3057\u305f\uff1a%(error)s",
    "Fear": "\u6050\u308c",
    "February": "2\u6708",
    "Filter": "\u30d5\u30a3\u30eb\u30bf\u30fc",
    "Friday": "\u91d1\u66dc\u65e5",
    "GPU pool: %(count)s worker answering": [
      "GPU \u30d7\u30fc\u30eb\uff1a\u5fdc\u7b54\u4e2d\u306e\u30ef\u30fc\u30ab\u30fc %(count)s \u53f0"
    ],
    "GPU pool: unknown (%(problem)s)": "GPU \u30d7\u30fc\u30eb\uff1a\u4e0d\u660e\uff08%(problem)s\uff09",
    "Generating\u2026 %(percent)s (step %(done)s of %(total)s)": "\u751f\u6210\u4e2d\u2026 %(percent)s\uff08%(total)s \u30b9\u30c6\u30c3\u30d7\u4e2d %(done)s\uff09",
    "Growing your garden\u2026": "\u5ead\u3092\u80b2\u3066\u3066\u3044\u307e\u3059\u2026",
    "Happy": "\u559c\u3073",
    "Height": "\u9ad8\u3055",
    "Image %(first)s of %(total)s": "%(total)s\u679a\u4e2d %(first)s\u679a\u76ee",
    "Image %(first)s of %(total)s, and one painted for you": "%(total)s\u679a\u4e2d %(first)s\u679a\u76ee\u3068\u3001\u3042\u306a\u305f\u306e\u305f\u3081\u306b\u63cf\u3044\u305f\u7d751\u679a",
    "Images %(first)s\u2013%(last)s of %(total)s": "%(total)s\u679a\u4e2d %(first)s\u2013%(last)s\u679a\u76ee",
    "Images %(first)s\u2013%(last)s of %(total)s, and one painted for you": "%(total)s\u679a\u4e2d %(first)s\u2013%(last)s\u679a\u76ee\u3068\u3001\u3042\u306a\u305f\u306e\u305f\u3081\u306b\u63cf\u3044\u305f\u7d751\u679a",
    "January": "1\u6708",
    "July": "7\u6708",
    "June": "6\u6708",
    "Kept in the pool: ready for promotion.": "\u30d7\u30fc\u30eb\u306b\u6b8b\u3057\u307e\u3057\u305f\u3002\u6607\u683c\u3067\u304d\u307e\u3059\u3002",
    "Like": "\u3044\u3044\u306d",
    "Liked": "\u3044\u3044\u306d\u6e08\u307f",
    "Looking at the photo\u2026": "\u5206\u6790\u3057\u3066\u3044\u307e\u3059\u2026",
    "March": "3\u6708",
    "May": "5\u6708",
    "Midnight": "0\u6642",
    "Monday": "\u6708\u66dc\u65e5",
    "Network problem: the garden could not be loaded. Press Capture to try again.": "\u30cd\u30c3\u30c8\u30ef\u30fc\u30af\u306e\u554f\u984c\u3067\u5ead\u3092\u8aad\u307f\u8fbc\u3081\u307e\u305b\u3093\u3067\u3057\u305f\u3002\u300c\u8868\u60c5\u3092\u5206\u6790\u300d\u3092\u62bc\u3057\u3066\u3082\u3046\u4e00\u5ea6\u304a\u8a66\u3057\u304f\u3060\u3055\u3044\u3002",
    "Network problem: the garden could not be reached. Try again.": "\u30cd\u30c3\u30c8\u30ef\u30fc\u30af\u306e\u554f\u984c\u3067\u5ead\u306b\u63a5\u7d9a\u3067\u304d\u307e\u305b\u3093\u3067\u3057\u305f\u3002\u3082\u3046\u4e00\u5ea6\u304a\u8a66\u3057\u304f\u3060\u3055\u3044\u3002",
    "Network problem: the server could not be reached.": "\u30cd\u30c3\u30c8\u30ef\u30fc\u30af\u30a8\u30e9\u30fc\uff1a\u30b5\u30fc\u30d0\u30fc\u306b\u63a5\u7d9a\u3067\u304d\u307e\u305b\u3093\u3002",
    "No camera found. Connect one and press Start camera.": "\u30ab\u30e1\u30e9\u304c\u898b\u3064\u304b\u308a\u307e\u305b\u3093\u3002\u30ab\u30e1\u30e9\u3092\u63a5\u7d9a\u3057\u3066\u304b\u3089\u300c\u30ab\u30e1\u30e9\u3092\u8d77\u52d5\u300d\u3092\u62bc\u3057\u3066\u304f\u3060\u3055\u3044\u3002",
    "No face found. Look straight at the camera and try again.": "\u9854\u304c\u898b\u3064\u304b\u308a\u307e\u305b\u3093\u3067\u3057\u305f\u3002\u30ab\u30e1\u30e9\u3092\u307e\u3063\u3059\u3050\u898b\u3066\u3001\u3082\u3046\u4e00\u5ea6\u304a\u8a66\u3057\u304f\u3060\u3055\u3044\u3002",
    "No images for this expression yet.": "\u3053\u306e\u8868\u60c5\u306e\u7d75\u306f\u307e\u3060\u3042\u308a\u307e\u305b\u3093\u3002",
    "No images for this favorite yet. Try another favorite or \u201cAny\u201d.": "\u3053\u306e\u7d44\u307f\u5408\u308f\u305b\u306e\u7d75\u306f\u307e\u3060\u3042\u308a\u307e\u305b\u3093\u3002\u5225\u306e\u98a8\u666f\u304b\u300c\u6307\u5b9a\u306a\u3057\u300d\u3092\u304a\u9078\u3073\u304f\u3060\u3055\u3044\u3002",
    "No pictures for this favorite yet: here are gardens for your mood with other favorites.": "\u3053\u306e\u7d44\u307f\u5408\u308f\u305b\u306e\u7d75\u306f\u307e\u3060\u3042\u308a\u307e\u305b\u3093\u3002\u540c\u3058\u8868\u60c5\u306e\u307b\u304b\u306e\u98a8\u666f\u306e\u5ead\u3092\u304a\u898b\u305b\u3057\u307e\u3059\u3002",
    "Noon": "12\u6642",
    "Not saved (%(key)s): %(error)s": "\u4fdd\u5b58\u3055\u308c\u307e\u305b\u3093\u3067\u3057\u305f (%(key)s): %(error)s",
    "Not started.": "\u958b\u59cb\u3067\u304d\u307e\u305b\u3093\u3067\u3057\u305f\u3002",
    "Note: You are %s hour ahead of server time.": [
      "\u30ce\u30fc\u30c8: \u3042\u306a\u305f\u306e\u74b0\u5883\u306f\u30b5\u30fc\u30d0\u30fc\u6642\u9593\u3088\u308a\u3001%s\u6642\u9593\u9032\u3093\u3067\u3044\u307e\u3059\u3002"
    ],
    "Note: You are %s hour behind server time.": [
      "\u30ce\u30fc\u30c8: \u3042\u306a\u305f\u306e\u74b0\u5883\u306f\u30b5\u30fc\u30d0\u30fc\u6642\u9593\u3088\u308a\u3001%s\u6642\u9593\u9045\u308c\u3066\u3044\u307e\u3059\u3002"
    ],
    "Nothing to undo": "\u5143\u306b\u623b\u3059\u64cd\u4f5c\u306f\u3042\u308a\u307e\u305b\u3093",
    "November": "11\u6708",
    "Now": "\u73fe\u5728",
    "Number of images": "\u753b\u50cf\u306e\u679a\u6570",
    "October": "10\u6708",
    "Only a few pictures for this favorite so far: gardens for your mood with other favorites follow them.": "\u3053\u306e\u7d44\u307f\u5408\u308f\u305b\u306e\u7d75\u306f\u307e\u3060\u6570\u679a\u3060\u3051\u3067\u3059\u3002\u305d\u306e\u3042\u3068\u306b\u540c\u3058\u8868\u60c5\u306e\u307b\u304b\u306e\u98a8\u666f\u306e\u5ead\u304c\u7d9a\u304d\u307e\u3059\u3002",
    "Paint a mask first.": "\u5148\u306b\u30de\u30b9\u30af\u3092\u5857\u3063\u3066\u304f\u3060\u3055\u3044\u3002",
    "Painted for you": "\u3042\u306a\u305f\u306e\u305f\u3081\u306b\u63cf\u3044\u305f\u7d75",
    "Painting a picture for you\u2026": "\u3042\u306a\u305f\u306e\u305f\u3081\u306e\u7d75\u3092\u63cf\u3044\u3066\u3044\u307e\u3059\u2026",
    "Painting another picture from the one you liked\u2026": "\u3044\u3044\u306d\u3057\u305f\u7d75\u3092\u3082\u3068\u306b\u3001\u3082\u30461\u679a\u63cf\u3044\u3066\u3044\u307e\u3059\u2026",
    "Pick a season, a weather and a time, or set all three to \u201cAny\u201d.": "\u5b63\u7bc0\u30fb\u5929\u6c17\u30fb\u6642\u9593\u5e2f\u3092\u3059\u3079\u3066\u9078\u3076\u304b\u30013\u3064\u3068\u3082\u300c\u6307\u5b9a\u306a\u3057\u300d\u306b\u3057\u3066\u304f\u3060\u3055\u3044\u3002",
    "Press Capture to begin": "\u300c\u8868\u60c5\u3092\u5206\u6790\u300d\u3092\u62bc\u3057\u3066\u59cb\u3081\u3066\u304f\u3060\u3055\u3044",
    "Prompt": "\u30d7\u30ed\u30f3\u30d7\u30c8",
    "QR code to this image's page": "\u3053\u306e\u7d75\u306e\u30da\u30fc\u30b8\u306e QR \u30b3\u30fc\u30c9",
    "Queued": "\u5f85\u6a5f\u4e2d",
    "Queued \u2014 position %(position)s": "\u5f85\u6a5f\u4e2d \u2014 %(position)s \u756a\u76ee",
    "Remove %s by selecting them and then select the \"Remove\" arrow button.": "%s\u3092\u524a\u9664\u3059\u308b\u306b\u306f\u3001\u9805\u76ee\u3092\u9078\u629e\u3057\u3066\u304b\u3089\"\u524a\u9664\"\u77e2\u5370\u30dc\u30bf\u30f3\u3092\u9078\u629e\u3057\u307e\u3059\u3002",
    "Remove all %s": "%s\u3092\u3059\u3079\u3066\u524a\u9664",
    "Remove selected %s": "\u9078\u629e\u3055\u308c\u305f%s\u3092\u524a\u9664",
    "Repainting\u2026 %(percent)s (step %(done)s of %(total)s)": "\u63cf\u304d\u76f4\u3057\u4e2d\u2026 %(percent)s\uff08%(total)s \u30b9\u30c6\u30c3\u30d7\u4e2d %(done)s\uff09",
    "Result: %(emotion)s": "\u5206\u6790\u7d50\u679c\uff1a%(emotion)s",
    "Retouching is not configured: set %(setting)s.": "\u90e8\u5206\u4fee\u6b63\u304c\u8a2d\u5b9a\u3055\u308c\u3066\u3044\u307e\u305b\u3093\uff1a%(setting)s \u3092\u8a2d\u5b9a\u3057\u3066\u304f\u3060\u3055\u3044\u3002",
    "Running": "\u5b9f\u884c\u4e2d",
    "Sad": "\u60b2\u3057\u307f",
    "Saturday": "\u571f\u66dc\u65e5",
    "Saved": "\u4fdd\u5b58\u3057\u307e\u3057\u305f",
    "Scan to take it home": "\u30b9\u30de\u30fc\u30c8\u30d5\u30a9\u30f3\u3067\u8aad\u307f\u53d6\u3063\u3066\u6301\u3061\u5e30\u308c\u307e\u3059",
    "Score %(score)s: add to the prompt": "\u30b9\u30b3\u30a2 %(score)s\uff1a\u30d7\u30ed\u30f3\u30d7\u30c8\u306b\u8ffd\u52a0",
    "September": "9\u6708",
    "Started over for the next visitor.": "\u6b21\u306e\u65b9\u306e\u305f\u3081\u306b\u6700\u521d\u306b\u623b\u308a\u307e\u3057\u305f\u3002",
    "Starting over in %(seconds)s s. Touch the screen or press any key to stay.": "%(seconds)s\u79d2\u5f8c\u306b\u6700\u521d\u306b\u623b\u308a\u307e\u3059\u3002\u7d9a\u3051\u308b\u306b\u306f\u753b\u9762\u306b\u89e6\u308c\u308b\u304b\u3001\u3044\u305a\u308c\u304b\u306e\u30ad\u30fc\u3092\u62bc\u3057\u3066\u304f\u3060\u3055\u3044\u3002",
    "Starting the camera\u2026": "\u30ab\u30e1\u30e9\u3092\u8d77\u52d5\u3057\u3066\u3044\u307e\u3059\u2026",
    "Submitting\u2026": "\u9001\u4fe1\u4e2d\u2026",
    "Succeeded": "\u6210\u529f",
    "Sunday": "\u65e5\u66dc\u65e5",
    "Surprised": "\u9a5a\u304d",
    "The camera stopped. Reconnecting it\u2026": "\u30ab\u30e1\u30e9\u304c\u6b62\u307e\u308a\u307e\u3057\u305f\u3002\u518d\u63a5\u7d9a\u3057\u3066\u3044\u307e\u3059\u2026",
    "The expression service failed. Try again in a moment.": "\u5206\u6790\u306b\u5931\u6557\u3057\u307e\u3057\u305f\u3002\u3057\u3070\u3089\u304f\u3057\u3066\u304b\u3089\u3082\u3046\u4e00\u5ea6\u304a\u8a66\u3057\u304f\u3060\u3055\u3044\u3002",
    "The garden could not be loaded. Try again in a moment.": "\u5ead\u3092\u8aad\u307f\u8fbc\u3081\u307e\u305b\u3093\u3067\u3057\u305f\u3002\u3057\u3070\u3089\u304f\u3057\u3066\u304b\u3089\u3082\u3046\u4e00\u5ea6\u304a\u8a66\u3057\u304f\u3060\u3055\u3044\u3002",
    "The picture could not be loaded.": "\u753b\u50cf\u3092\u8aad\u307f\u8fbc\u3081\u307e\u305b\u3093\u3067\u3057\u305f\u3002",
    "The picture is larger than the server accepts.": "\u753b\u50cf\u304c\u30b5\u30fc\u30d0\u30fc\u306e\u53d7\u3051\u4ed8\u3051\u308b\u30b5\u30a4\u30ba\u3092\u8d85\u3048\u3066\u3044\u307e\u3059\u3002",
    "This browser has no camera access (it needs HTTPS or localhost).": "\u3053\u306e\u30d6\u30e9\u30a6\u30b6\u3067\u306f\u30ab\u30e1\u30e9\u3092\u4f7f\u3048\u307e\u305b\u3093\uff08HTTPS \u307e\u305f\u306f localhost \u304c\u5fc5\u8981\u3067\u3059\uff09\u3002",
    "Thursday": "\u6728\u66dc\u65e5",
    "Today": "\u4eca\u65e5",
    "Tomorrow": "\u660e\u65e5",
    "Tuesday": "\u706b\u66dc\u65e5",
    "Type into this box to filter down the list of available %s.": "\u4f7f\u7528\u53ef\u80fd\u306a %s \u306e\u30ea\u30b9\u30c8\u3092\u7d5e\u308a\u8fbc\u3080\u306b\u306f\u3001\u3053\u306e\u30dc\u30c3\u30af\u30b9\u306b\u5165\u529b\u3057\u307e\u3059\u3002",
    "Type into this box to filter down the list of selected %s.": "\u9078\u629e\u3055\u308c\u305f%s\u306e\u30ea\u30b9\u30c8\u3092\u7d5e\u308a\u8fbc\u3080\u306b\u306f\u3001\u3053\u306e\u30dc\u30c3\u30af\u30b9\u306b\u5165\u529b\u3057\u307e\u3059\u3002",
    "Wednesday": "\u6c34\u66dc\u65e5",
    "Width": "\u5e45",
    "Write a prompt first.": "\u5148\u306b\u30d7\u30ed\u30f3\u30d7\u30c8\u3092\u5165\u529b\u3057\u3066\u304f\u3060\u3055\u3044\u3002",
    "Yesterday": "\u6628\u65e5",
    "You have selected an action, and you haven\u2019t made any changes on individual fields. You\u2019re probably looking for the Go button rather than the Save button.": "\u64cd\u4f5c\u3092\u9078\u629e\u3057\u307e\u3057\u305f\u304c\u3001\u30d5\u30a3\u30fc\u30eb\u30c9\u306b\u5909\u66f4\u306f\u3042\u308a\u307e\u305b\u3093\u3067\u3057\u305f\u3002\u3082\u3057\u304b\u3057\u3066\u4fdd\u5b58\u30dc\u30bf\u30f3\u3067\u306f\u306a\u304f\u3066\u5b9f\u884c\u30dc\u30bf\u30f3\u3092\u304a\u63a2\u3057\u3067\u3059\u304b\u3002",
    "You have selected an action, but you haven\u2019t saved your changes to individual fields yet. Please click OK to save. You\u2019ll need to re-run the action.": "\u64cd\u4f5c\u3092\u9078\u629e\u3057\u307e\u3057\u305f\u304c\u3001\u30d5\u30a3\u30fc\u30eb\u30c9\u306b\u672a\u4fdd\u5b58\u306e\u5909\u66f4\u304c\u3042\u308a\u307e\u3059\u3002OK\u3092\u30af\u30ea\u30c3\u30af\u3057\u3066\u4fdd\u5b58\u3057\u3066\u304f\u3060\u3055\u3044\u3002\u305d\u306e\u5f8c\u3001\u64cd\u4f5c\u3092\u518d\u5ea6\u5b9f\u884c\u3059\u308b\u5fc5\u8981\u304c\u3042\u308a\u307e\u3059\u3002",
    "You have unsaved changes on individual editable fields. If you run an action, your unsaved changes will be lost.": "\u30d5\u30a3\u30fc\u30eb\u30c9\u306b\u672a\u4fdd\u5b58\u306e\u5909\u66f4\u304c\u3042\u308a\u307e\u3059\u3002\u64cd\u4f5c\u3092\u5b9f\u884c\u3059\u308b\u3068\u672a\u4fdd\u5b58\u306e\u5909\u66f4\u306f\u5931\u308f\u308c\u307e\u3059\u3002",
    "Your garden appears here after the capture.": "\u8868\u60c5\u3092\u5206\u6790\u3059\u308b\u3068\u3001\u3053\u3053\u306b\u5ead\u304c\u8868\u793a\u3055\u308c\u307e\u3059\u3002",
    "Your garden is ready.": "\u5ead\u306e\u6e96\u5099\u304c\u3067\u304d\u307e\u3057\u305f\u3002",
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
    "about %s left": "\u6b8b\u308a\u7d04 %s",
    "adult": "\u5927\u4eba",
    "beard": "\u3042\u3054\u3072\u3052",
    "broker: %(problem)s": "\u30d6\u30ed\u30fc\u30ab\u30fc\uff1a%(problem)s",
    "child": "\u5b50\u3069\u3082",
    "elder": "\u9ad8\u9f62",
    "eyeglasses": "\u3081\u304c\u306d",
    "eyes open": "\u76ee\u3092\u958b\u3051\u3066\u3044\u308b",
    "female": "\u5973\u6027",
    "garden painting for a %(mood)s mood": "\u300c%(mood)s\u300d\u306e\u8868\u60c5\u306b\u5408\u308f\u305b\u305f\u5ead\u306e\u7d75",
    "garden painting for a %(mood)s mood, painted just for you": "\u3044\u307e\u3042\u306a\u305f\u306e\u305f\u3081\u306b\u63cf\u3044\u305f\u300c%(mood)s\u300d\u306e\u8868\u60c5\u306b\u5408\u308f\u305b\u305f\u5ead\u306e\u7d75",
    "male": "\u7537\u6027",
    "middle age": "\u4e2d\u5e74",
    "mouth open": "\u53e3\u3092\u958b\u3051\u3066\u3044\u308b",
    "mustache": "\u53e3\u3072\u3052",
    "none": "\u306a\u3057",
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
    "seed %s": "\u30b7\u30fc\u30c9 %s",
    "smiling": "\u7b11\u9854",
    "sunglasses": "\u30b5\u30f3\u30b0\u30e9\u30b9",
    "teenager": "\u5341\u4ee3",
    "toddler": "\u5e7c\u5150",
    "unknown error": "\u4e0d\u660e\u306a\u30a8\u30e9\u30fc",
    "young adult": "\u82e5\u8005"
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
    "SHORT_DATETIME_FORMAT": "Y-m-d H:i:s",
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

