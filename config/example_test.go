package config_test

import (
	"errors"
	"fmt"

	"github.com/restkit/restkit/config"
)

func ExampleParse() {
	src := `
apis:
  - resources:
      cars:
        key: id
        fields:
          id: {type: integer}
          year: {type: integer, min: 2100, max: 1886, sortabel: true}
        page_size: twenty
`
	_, err := config.Parse("api.yaml", []byte(src))
	var problems config.Errors
	if errors.As(err, &problems) {
		for _, p := range problems {
			fmt.Println(p)
		}
	}
	// Output:
	// api.yaml:8:11: min 2100 is greater than max 1886
	// api.yaml:8:55: unknown key "sortabel" in field cars.year; did you mean "sortable"?
	// api.yaml:9:20: page_size must be an integer, not "twenty"
}

func ExampleDemo() {
	c, err := config.Parse("demo.yaml", config.Demo())
	if err != nil {
		panic(err)
	}
	for _, api := range c.Schema.APIs {
		for _, r := range api.Resources {
			fmt.Println(api.Base+"/"+r.Name, r.Collection, r.Item)
		}
		for _, n := range api.Nouns {
			fmt.Println(api.Base+"/"+n.Name, n.Update.Op, n.Update.Field)
		}
	}
	// Output:
	// /cars [GET POST] [GET PUT PATCH DELETE]
	// /led toggle state
	// /v1/people [GET] [GET PUT PATCH DELETE]
}
