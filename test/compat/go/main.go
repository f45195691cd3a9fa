// Decodes live answers of the dpready stats API into the existing Go system's response types,
// field by field as that system declares them (int64 percentiles and values, int counts).
// encoding/json rejects a fraction or a string where these types expect an integer, so a
// response that would break the existing system's Go clients fails here.
//
// Usage: compat -server http://127.0.0.1:8080 -query 'topN=10&labelSelector=podgroup=x'
// Exit 0 when every route decodes; 1 with the decoding error otherwise.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// The existing system's types.

type WorstPod struct {
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	UID        string `json:"uid"`
	NodeName   string `json:"nodeName,omitempty"`
	CreatedAt  string `json:"createdAt,omitempty"`
	MeasuredTs string `json:"measuredTs,omitempty"`
	Value      int64  `json:"value"`
}

type FailedPod struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
	NodeName  string `json:"nodeName,omitempty"`
}

type MetricResponse struct {
	Metric          string      `json:"metric"`
	Unit            string      `json:"unit"`
	Count           int         `json:"count"`
	TotalSuccessful int         `json:"totalSuccessful"`
	TotalFailed     int         `json:"totalFailed"`
	P50             int64       `json:"p50"`
	P90             int64       `json:"p90"`
	P99             int64       `json:"p99"`
	WorstPods       []WorstPod  `json:"worstPods"`
	FailedPods      []FailedPod `json:"failedPods"`
}

type PodStatus struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
	NodeName  string `json:"nodeName,omitempty"`
	Phase     string `json:"phase"`
	Reason    string `json:"reason,omitempty"`
	Message   string `json:"message,omitempty"`
}

type PodHealthResponse struct {
	Namespace       string      `json:"namespace"`
	LabelSelector   string      `json:"labelSelector,omitempty"`
	DesiredReplicas int         `json:"desiredReplicas"`
	RunningPods     int         `json:"runningPods"`
	PendingPods     int         `json:"pendingPods"`
	FailedPods      int         `json:"failedPods"`
	SuccessPct      float64     `json:"successPct"`
	PendingPodList  []PodStatus `json:"pendingPodList"`
	FailedPodList   []PodStatus `json:"failedPodList"`
}

func get(client *http.Client, url string, into any) error {
	res, err := client.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", res.StatusCode, body)
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("decoding into %T: %w", into, err)
	}
	return nil
}

func main() {
	server := flag.String("server", "", "the controller's stats API, e.g. http://127.0.0.1:8080")
	query := flag.String("query", "", "query string sent to every route, e.g. topN=10&labelSelector=app=x")
	flag.Parse()
	if *server == "" {
		fmt.Fprintln(os.Stderr, "usage: compat -server URL [-query Q]")
		os.Exit(2)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	q := ""
	if *query != "" {
		q = "?" + *query
	}
	failed := false
	out := map[string]any{}
	for _, metric := range []string{"time-to-start", "time-to-datapath-ready"} {
		var m MetricResponse
		if err := get(client, *server+"/api/v1/"+metric+q, &m); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", metric, err)
			failed = true
			continue
		}
		if m.WorstPods == nil || m.FailedPods == nil {
			fmt.Fprintf(os.Stderr, "%s: worstPods or failedPods is null\n", metric)
			failed = true
		}
		out[metric] = m
	}
	var h PodHealthResponse
	if err := get(client, *server+"/api/v1/pod-health"+q, &h); err != nil {
		fmt.Fprintf(os.Stderr, "pod-health: %v\n", err)
		failed = true
	} else {
		out["pod-health"] = h
	}
	// What was decoded, re-encoded from the Go types, so the caller can compare values.
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		failed = true
	}
	if failed {
		os.Exit(1)
	}
}
