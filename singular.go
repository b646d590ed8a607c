package restkit

import "strings"

// Singular derives the name of one item of a collection from the collection's name:
// the XML element of a record and the word of messages ("no address with id 7").
// It singularises the last word of a snake_case name by English spelling rules:
// addresses → address, categories → category, boxes → box, wishes → wish, heroes →
// hero, statuses → status, leaves → leaf, order_items → order_item, people → person.
// A name that is not a plural it knows (address, status, inventory, led) is returned
// as it is. The rules are a table, not a dictionary: a word they get wrong is named in
// the declaration with Resource.Singular (singular: in YAML).
func Singular(name string) string {
	head, word := "", name
	if i := strings.LastIndexByte(name, '_'); i >= 0 {
		head, word = name[:i+1], name[i+1:]
	}
	if s, ok := singularWords[word]; ok {
		return head + s
	}
	for _, r := range singularRules {
		if len(word) > len(r.plural) && strings.HasSuffix(word, r.plural) {
			return head + word[:len(word)-len(r.plural)] + r.singular
		}
	}
	return name
}

// singularWords are whole words the rules below get wrong: irregular plurals, words
// whose singular ends in -ie, -oe, -fe or -s, and words that are their own plural.
var singularWords = map[string]string{
	"people": "person", "children": "child", "men": "man", "women": "woman", "mice": "mouse",
	"geese": "goose", "feet": "foot", "teeth": "tooth", "data": "datum", "media": "medium",
	"criteria": "criterion", "phenomena": "phenomenon", "indices": "index", "vertices": "vertex",
	"matrices": "matrix", "appendices": "appendix", "analyses": "analysis", "crises": "crisis",
	"theses": "thesis", "diagnoses": "diagnosis", "axes": "axis",
	"pies": "pie", "ties": "tie", "lies": "lie", "dies": "die", "zombies": "zombie", "calories": "calorie",
	"brownies": "brownie", "selfies": "selfie", "hoodies": "hoodie", "goalies": "goalie", "smoothies": "smoothie",
	"toes": "toe", "tiptoes": "tiptoe", "foes": "foe", "canoes": "canoe", "oboes": "oboe", "hoes": "hoe", "does": "doe",
	"knives": "knife", "wives": "wife", "lives": "life", "shoes": "shoe", "valves": "valve",
	"menus": "menu", "gurus": "guru", "emus": "emu", "haikus": "haiku", "tutus": "tutu",
	"buses": "bus", "busses": "bus", "gases": "gas", "atlases": "atlas", "canvases": "canvas", "lenses": "lens", "quizzes": "quiz",
	"alias": "alias", "atlas": "atlas", "bias": "bias", "canvas": "canvas", "gas": "gas", "lens": "lens",
	"series": "series", "species": "species", "news": "news",
}

// singularRules turn a plural ending into the singular one; the first rule whose
// ending is a proper suffix of the word applies. Endings of words that are already
// singular (-ss, -us, -is) come first and keep them as they are.
var singularRules = []struct{ plural, singular string }{
	{"ss", "ss"}, {"us", "us"}, {"is", "is"}, // address, status, analysis
	{"ovies", "ovie"}, {"ookies", "ookie"}, {"ies", "y"}, // movies, cookies; categories
	{"sses", "ss"},                                                                           // addresses
	{"tuses", "tus"}, {"nuses", "nus"}, {"puses", "pus"}, {"ruses", "rus"}, {"iuses", "ius"}, // statuses, bonuses, campuses, viruses, radiuses
	{"suses", "sus"}, {"iases", "ias"}, // censuses, aliases
	{"xes", "x"}, {"zzes", "zz"}, // boxes, buzzes
	{"eaches", "each"}, {"oaches", "oach"}, {"tches", "tch"}, {"aches", "ache"}, {"ches", "ch"}, // beaches, coaches, matches, caches, churches
	{"shes", "sh"},                  // wishes
	{"shoes", "shoe"}, {"oes", "o"}, // horseshoes; heroes, potatoes
	{"knives", "knife"}, {"wives", "wife"}, // knives, housewives
	{"ieves", "ief"}, {"eaves", "eaf"}, {"arves", "arf"}, {"ooves", "oof"}, {"lves", "lf"}, // thieves, leaves, scarves, hooves, shelves
	{"s", ""}, // cars, houses, archives, photos
}
