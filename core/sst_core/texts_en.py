"""The English catalog of server texts: every key the server can emit, with its words.

The dashboard holds the same keys, prefixed "text.", in dashboard/src/i18n/en.ts (these
very templates, checked by a test) and ko.ts. Placeholders and their formats are
described in sst_core.texts. Adding a key here means adding it there too: run
`uv run python -m sst_core.texts_export` and the catalog tests say what is missing.
"""

from __future__ import annotations

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Fixed words, not strftime's %b: the C library's locale must not change a stored text.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

SENSOR_WORDS = {
    "motion": "motion sensor",
    "door": "door sensor",
    "bed": "bed sensor",
    "chair": "chair sensor",
    "toilet": "toilet sensor",
    "power": "power plug",
    "temperature": "thermometer",
    "smoke": "smoke alarm",
    "emergency_button": "emergency button",
    "fall_detector": "fall detector",
}
# The standard names rooms of each kind get; a room still so named is shown in the reader's
# language (the dashboard's "fmt.roomKind.", texts_ko.KO_WORDS).
ROOM_KIND_NAMES = {
    "bedroom": "Bedroom",
    "bathroom": "Bathroom",
    "kitchen": "Kitchen",
    "living": "Living room",
    "hall": "Hall",
    "entrance": "Entrance",
}
SENSOR_WATCHES = {
    "temperature": "the room temperature",
    "bed": "whether the bed is in use",
}

EN_TEXTS: dict[str, str] = {
    # A text from before structured texts, or from outside them: shown as it is.
    "plain": "{text}",
    # -- hard rules (ai_inference rules.py); params: name, room (+ room_kind), time
    "alert.fall.title": "Fall detected {room:in}",
    "alert.fall.explanation": (
        "Fall detected {room:in} at {time} (home time). Check on {name} now: call, or send someone."
    ),
    "alert.emergency_button.title": "{name} pressed the emergency button",
    "alert.emergency_button.explanation": (
        "{name} pressed the emergency button {room:in} at {time} (home time) "
        "and is asking for help. Call now, or send someone."
    ),
    "alert.smoke.title": "Smoke detected {room:in}",
    "alert.smoke.explanation": (
        "The smoke alarm went off {room:in} at {time} (home time). Call {name} now; "
        "if nobody answers or there is a fire, call the fire service and send someone."
    ),
    # -- windowed rules (windowed.py)
    "alert.inactivity.title": "No movement at {name}'s home for {for_min:span}",
    "alert.inactivity.explanation": (
        "No movement anywhere at home {since}; the limit set for {name} is "
        "{limit_min:span} during waking hours ({waking_from} to {waking_until}). "
        "Last seen in {room:the}. Call {name}, or send someone."
    ),
    "alert.inactivity.since_last": "since {time} ({for_min:span})",
    "alert.inactivity.since_day_start": "since the start of the day at {time} ({for_min:span})",
    "alert.long_bathroom_stay.title": "{name} has been in {room:the} for {for_min:span}",
    "alert.long_bathroom_stay.explanation": (
        "{name} has been in {room:the} since {since} ({for_min:span}) with no movement "
        "anywhere else; the limit set for {name} is {limit} min. Call, or send someone to check."
    ),
    "alert.night_exit.title": "{name} went out at night and is not back",
    "alert.night_exit.explanation": (
        "The front door opened at {time} (night) and there has been no movement at home "
        "since ({for_min:span}); {name} is expected back within {limit} min. "
        "Call, or send someone to look."
    ),
    "alert.no_wake_up.title": "{name} has not got up this morning",
    "alert.no_wake_up.explanation": (
        "No sign that {name} got up today: no movement in the day rooms since {since}{seen}. "
        "{name} usually gets up around {usual}; it is {now}, past the margin of "
        "{margin_min:span}. Call, or send someone."
    ),
    "alert.no_wake_up.seen": "; last movement {time} in {room:the}",
    # -- home rules (home_rules.py)
    "alert.low_temperature.title": "Cold in {room:the} at {name}'s home",
    "alert.low_temperature.explanation": (
        "It has been below {limit:g} °C in {room:the} since {since} ({for_min:span}; "
        "{celsius:f1} °C now). The limit set for {name} is {limit:g} °C for {limit_min} min. "
        "Check the heating, and that {name} is warm."
    ),
    "alert.high_temperature.title": "Hot in {room:the} at {name}'s home",
    "alert.high_temperature.explanation": (
        "It has been above {limit:g} °C in {room:the} since {since} ({for_min:span}; "
        "{celsius:f1} °C now). The limit set for {name} is {limit:g} °C for {limit_min} min. "
        "Check the ventilation, and that {name} drinks enough."
    ),
    "alert.sensor_silent.title": "The {sensor_kind:sensor} in {room:the} stopped reporting",
    "alert.sensor_silent.explanation": (
        "The {sensor_kind:sensor} in {room:the} at {name}'s home has sent nothing since "
        "{since} ({for_min:span}) although it reports every few minutes{more}; the limit is "
        "{limit_min:span}. Until it reports, {sensor_kind:watches} is not watched. "
        "Check its battery and placement (or the hub's clock)."
    ),
    "alert.sensor_silent.more": " ({count} more sensor(s) too)",
    # -- device alerts (device_alerts.py)
    "alert.hub_offline.title": "Hub offline in {name}'s home",
    "alert.hub_offline.explanation": (
        "The hub in {name}'s home {what}; sensors there are not watching. "
        "Check the power and the internet connection."
    ),
    "alert.hub_offline.lost": "lost its connection at {when} (home time)",
    "alert.hub_offline.silent": "has not reported since {when} (home time)",
    "alert.hub_offline.never": "has never reported",
    "clock.today": "{time}",
    "clock.day": "{date:daymon} {time}",
    "alert.low_battery.title": "Low battery: {sensor_kind:sensor} {room:in}",
    "alert.low_battery.explanation": (
        "The battery of the {sensor_kind:sensor} {room:in} is at {pct}%. Replace it in the "
        "next few days, or it will stop watching over {name}."
    ),
    # -- routine model (routine.py, sst_core.routine_model)
    "alert.routine_deviation.title": "Unusual day for {name} (risk {score}/100)",
    "alert.routine_deviation.explanation": "Risk {score}/100: {why}",
    "routine.deviations": "{deviations:list}",
    "routine.ordinary": "today looks like an ordinary day",
    "routine.population": (
        "{why} (compared with typical routines of other residents: only {days} days of "
        "this resident's own history so far)"
    ),
    "routine.recent_activity": (
        "only {observed} movements in the last 3 hours; usually about {expected} on a "
        "{weekday:weekday} at this time"
    ),
    "routine.not_up": "not up yet at {now}; usually up by {usual}",
    "routine.got_up": "got up at {time}; usually up by {usual}",
    "routine.night_bathroom_visits": "{visits} bathroom visits in the night; usually {usual}",
    "routine.since_last_activity": (
        "no movement anywhere since {since} ({for_min:hmm}); "
        "usually {usual_min:hmm} at most at this time"
    ),
    "routine.kitchen_none_today": "no kitchen activity today",
    "routine.kitchen_since": "no kitchen activity since {time}",
    "routine.at_home": " ({for_min:hmm} of it at home)",
    "routine.since_last_kitchen": (
        "{head}{at_home}; usually back in the kitchen within {usual_min:hmm}"
    ),
    "routine.activity_kitchen": "{head}; usually about {usual} kitchen movements by {now}",
    "routine.kitchen_visits": "{head}; usually {usual} visits by {now}",
    "routine.no_bathroom_today": (
        "no bathroom visit today by {now}; usually one within {usual_min:hmm}"
    ),
    "routine.since_last_bathroom": (
        "no bathroom visit since {since}{at_home}; usually one within {usual_min:hmm}"
    ),
    "routine.since_last_bathroom_earlier": (
        "no bathroom visit since earlier{at_home}; usually one within {usual_min:hmm}"
    ),
    "routine.activity_bathroom": (
        "little bathroom activity: {count} movements by {now}; usually about {usual}"
    ),
    "routine.total_activity": (
        "little activity today: {count} movements by {now}; usually about {usual}"
    ),
    # -- gradual decline (trend_watch.py, sst_core.trend)
    "alert.gradual_decline.title": "{name} may be slowly declining",
    "alert.gradual_decline.explanation": (
        "Over the last {days} days, no single day alarming, but together unlike "
        "{name}'s usual weeks: {why}. Visit or call {name}, and consider a check-up."
    ),
    "trend.explanation": "{changes:list}",
    "trend.wake": "getting up at {mean} on average; usually {usual}",
    "trend.day_activity_rate": "moving about at home {percent}% less than usual",
    "trend.kitchen_activity_rate": "{percent}% less activity in the kitchen than usual",
    "trend.night_bathroom_visits": (
        "{mean:f1} bathroom visits a night on average; usually {usual:f1}"
    ),
    "trend.out_minutes": "out {mean_min:hmm} a day on average; usually {usual_min:hmm}",
    "trend.together": "several habits each a little off, none far from usual on its own",
    # -- daily summary (backend summaries/texts.py)
    "summary.sleep_none": "Sleep: the bed sensor reported nothing last night.",
    "summary.sleep": (
        "Sleep: about {hours:g} hours in bed last night, out of bed {times_up:times} "
        "during the night{woke}."
    ),
    "summary.woke": ", up for the day at {time}",
    "summary.meals": ("Meals: in the kitchen {visits:times} (movement seen there {motion} times)."),
    "summary.meals_none": "Meals: no movement in the kitchen was seen.",
    "summary.activity": "Activity: moving about in {hours} hours of the day.",
    "summary.out": "Out: went out {outings:times}, for about {minutes:span} in all.",
    "summary.out_door_only": "Out: the front door opened {doors:times}; no outing seen.",
    "summary.home": "Out: stayed at home.",
    "summary.alerts": "Alerts: {count} — {alerts:list}.",
    "summary.alert": "{title} ({state:state})",
    "summary.alerts_none": "Alerts: none.",
    # -- why the system resolved an alert by itself (ai_inference findings, device alerts)
    "resolved.note": "auto-resolved: {reason}",
    "resolved.condition_over": "condition over",
    "resolved.movement_at": "movement at {time}",
    "resolved.went_out_at": "went out at {time}",
    "resolved.seen_in": "seen in {room:the}",
    "resolved.seen_elsewhere": "seen elsewhere",
    "resolved.no_night_exit": "no front door opening at night",
    "resolved.back_at": "back, seen at {time}",
    "resolved.up_at": "up, seen at {time}",
    "resolved.out_of_bed_at": "out of bed at {time}",
    "resolved.out_since": "out since {time}",
    "resolved.temperature": "{celsius:f1} °C",
    "resolved.sensors_reported": "every scheduled sensor reported",
    "resolved.hub_back": "hub back online",
    "resolved.batteries_replaced": "batteries replaced",
    # -- why a windowed rule cannot judge an instant (ai_inference findings: UNKNOWN)
    "unknown.no_data": "no recent data from the home",
    "unknown.hub_offline": "hub not known to be online",
    # -- what SST writes on robot commands (sst_core.robot_details)
    "robot.expired_waiting": "expired while waiting for the robot",
    "robot.expired_unfinished": "expired before the robot finished it",
    "robot.invalid_command": "not a valid command: {error}",
    # -- a robot's progress details (docs/mqtt.md: progress `text`; the reference robot's words)
    "robot.progress.starting_in": "starting in {room:the}",
    "robot.progress.starting_at_dock": "starting at the dock",
    "robot.progress.arrived_in": "arrived in {room:the}",
    "robot.progress.camera_ready": "in {room:the}, camera ready for staff to look",
    "robot.progress.said_message": "said the message in {room:the}",
    "robot.progress.docked": "docked and charging",
    "robot.progress.stopped_commands": "stopped command {commands}",
    "robot.progress.nothing_to_stop": "nothing to stop",
    "robot.progress.stopped_before_start": "stopped by staff before it began",
    "robot.progress.expired_before_start": "expired before it could begin",
    "robot.progress.stopped_by_staff": "stopped by staff in {room:the}",
    "robot.progress.ran_out_of_time": "ran out of time (expired) in {room:the}",
    "robot.progress.no_such_room": "no room called '{room}' on my map",
    "robot.progress.blocked": "path to {room:the} is blocked at {at:the}",
    "robot.progress.battery_low": "battery too low ({battery}%) to reach {room:the} and keep a "
    "reserve; send me to the dock first",
    # -- the daily summary's opening line and e-mail subject (backend summaries/texts.py)
    "summary.opening": "How {name}'s day went, {weekday:weekday} {date:daymon}{until}:",
    "summary.until": " (until {time})",
    "summary.subject": "{name}'s day: {weekday:weekday} {date:daymon}",
    # -- notifications to people (backend notifications/texts.py); title and explanation
    # are the alert's own texts, `when` a clock.day text in the home's time
    "notify.severity.critical": "CRITICAL",
    "notify.severity.high": "HIGH",
    "notify.severity.medium": "MEDIUM",
    "notify.severity.low": "LOW",
    "notify.repeats": " It has happened {count} times since.",
    "notify.staff.subject": "[{severity}] {title}: {name}",
    "notify.staff.body": (
        "{title} for {name} (since {when}, home time).\n"
        "Why: {explanation}{repeats}\n\n"
        "{urgency}What to do: call or visit {name} now, then acknowledge the alert so the "
        "team knows you are on it, and resolve it with a note when done.\n"
        "Open the alert: {link}\n"
    ),
    "notify.staff.urgency": "Nobody has acknowledged it yet. ",
    "notify.guardian.subject": "About {name}: {title}",
    "notify.guardian.body": (
        "We noticed something that may need attention for {name} (at {when}, home time).\n"
        "What we saw: {explanation}\n\n"
        "{team} If you can, please give {name} a call. If you cannot reach them and are "
        "worried, call the care team or emergency services.\n"
        "You can follow what happens here: {link}\n"
    ),
    "notify.guardian.team_told": "The care team has been told.",
    "notify.guardian.team_silent": (
        "The care team has not confirmed yet that they are on it, so we are letting you "
        "know as well."
    ),
    "notify.contact.subject": "Please check on {name}",
    "notify.contact.body": (
        "You are listed as an emergency contact{reach} for {name}.\n"
        "At {when} (home time) SST noticed: {explanation}\n"
        "Neither the care team nor the family has confirmed yet that someone is on it. "
        "Please call or visit {name}; if you cannot reach them, call emergency services.\n"
    ),
    "notify.contact.reach": " ({phone})",
    "notify.reminder.subject": "Still open: {title} for {name}",
    "notify.reminder.body": (
        "You acknowledged '{title}' for {name} at {when} (home time); it is not resolved yet.\n"
        "Why it was raised: {explanation}\n\n"
        "When {name} is safe, resolve it with a note on what you found and did: {link}\n"
    ),
}
