"""Common English words. A phrase alone at the end of a message is taken for a signed name
unless one of its words is in this list ("What happened?", "Too much!", "read more"): function
words, the commonest verbs, adjectives, adverbs and nouns of customer messages and news."""

_WORDS = """
    a about above asap happened anyway lol tho thankyou
    across after again against all almost also always am among an and another
    any anyone anything are around as ask asked at away back bad be because been before
    being below best better between big both but by call called came can cannot card case
    change charge check come could day days did do does done down during each early else
    end enough even ever every fee fees few find first for found free from full get gets
    getting give given go goes going gone good got great had has have having he help her
    here him his home how however i if important in info information into is it its just
    keep kind know last late later least less let like little long look looking lot made
    make many may me mean money month more most much must my need needed never new next no
    none not nothing now of off often ok okay old on once one only open or order other our
    out over own paid part pay people please point pounds problem put quite rather read
    really received refund right said same say see seen send sent service set she should
    show since so some someone something soon still such sure take taken team tell than
    thank thanks that the their them then there these they thing things think this those
    though thought through time to today told too took true try trying two under until up
    upset urgent us use used very want wanted was way we week well went were what when
    where which while who why will with without work would wrong year yes yet you your
"""
COMMON_WORDS = frozenset(_WORDS.split())
