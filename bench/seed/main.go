// Command seed is bench/run.sh's helper. It talks to a running restkit over HTTP.
//
//	seed -url http://127.0.0.1:PORT -n 10000        POST cars 1..n (deterministic data)
//	seed -url http://127.0.0.1:PORT -cursor-at 9000  print the path of the 20-record page
//	                                                 after row 9000, walking rel="next" links
//	     [-query 'year%5Bgte%5D=1995&sort=year']     of the list with these filters and sort
//	seed -freeport                                   print a free loopback TCP port
//
// Seeding goes through restkit's own POST so the table is exactly what restkit makes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

var (
	models = []string{"Corolla", "Civic", "Golf", "Model 3", "Mustang", "Clio", "Polo", "Focus", "Panda", "Yaris", "Octavia", "Fiesta"}
	colors = []string{"red", "blue", "green", "black", "white", "silver", "yellow"}
)

// carJSON returns the deterministic body of car id: about one in seven has no year.
func carJSON(id int) []byte {
	model, color := models[id%len(models)], colors[(id/3)%len(colors)]
	if id%7 == 0 {
		return fmt.Appendf(nil, `{"id":%d,"model":%q,"color":%q}`, id, model, color)
	}
	return fmt.Appendf(nil, `{"id":%d,"model":%q,"color":%q,"year":%d}`, id, model, color, 1990+id%35)
}

func main() {
	base := flag.String("url", "", "restkit's base URL")
	n := flag.Int("n", 0, "POST cars 1..n")
	workers := flag.Int("workers", 8, "concurrent POSTs while seeding")
	at := flag.Int("cursor-at", 0, "print the path of the 20-record page that follows this many rows")
	limit := flag.Int("limit", 20, "the page size of the -cursor-at path")
	query := flag.String("query", "", "with -cursor-at: the list's filters and sort, an encoded query string without limit")
	freeport := flag.Bool("freeport", false, "print a free loopback port and exit")
	flag.Parse()
	var err error
	switch {
	case *freeport:
		err = freePort()
	case *base != "" && *n > 0:
		err = seed(*base, *n, *workers)
	case *base != "" && *at > 0:
		err = cursorAt(*base, *query, *at, *limit)
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func freePort() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	return nil
}

var client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func seed(base string, n, workers int) error {
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				id := int(next.Add(1))
				if id > n {
					return
				}
				resp, err := client.Post(base+"/cars", "application/json", bytes.NewReader(carJSON(id)))
				if err != nil {
					errs <- err
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					errs <- fmt.Errorf("POST /cars id %d: %s: %s", id, resp.Status, body)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "seed: %d cars in %v\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}

var nextLink = regexp.MustCompile(`<([^>]*)>;\s*rel="next"`)

// cursorAt walks the list (filtered and sorted by query, when not empty) with
// limit=100 until `at` rows are behind it, then prints the next link with its limit
// set to `limit`: a page deep in the list, reached by cursor as a client would.
func cursorAt(base, query string, at, limit int) error {
	path := "/cars?limit=100"
	if query != "" {
		path = "/cars?" + query + "&limit=100"
	}
	seen := 0
	for seen < at {
		resp, err := client.Get(base + path)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
		}
		seen += bytes.Count(body, []byte(`"id":`))
		m := nextLink.FindStringSubmatch(resp.Header.Get("Link"))
		if m == nil {
			return fmt.Errorf("GET %s: no rel=\"next\" link after %d rows", path, seen)
		}
		path = m[1]
	}
	if seen != at {
		return fmt.Errorf("walked %d rows, not %d: use a multiple of 100", seen, at)
	}
	u, err := url.Parse(path)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("limit", strconv.Itoa(limit))
	u.RawQuery = q.Encode()
	fmt.Println(u.RequestURI())
	return nil
}
