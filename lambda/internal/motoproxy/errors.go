package motoproxy

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strconv"
)

// Protocol is the wire protocol of a request, which decides the shape of
// the errors the proxy answers with.
type Protocol string

// Protocols the proxy recognises.
const (
	// EC2Query is EC2's query protocol (form body, Version=2016-11-15).
	EC2Query Protocol = "ec2query"
	// AWSQuery is the query protocol of IAM, STS, SNS and others.
	AWSQuery Protocol = "awsquery"
	// AWSJSON is the JSON 1.0 / 1.1 protocol with X-Amz-Target (CloudWatch
	// Logs and SSM on 1.1, DynamoDB on 1.0).
	AWSJSON Protocol = "awsjson"
	// Unshaped is any other protocol (Smithy RPC v2 CBOR, REST): the
	// proxy cannot shape an error for it.
	Unshaped Protocol = "other"
)

// ec2APIVersion is the Version every EC2 query request carries.
const ec2APIVersion = "2016-11-15"

// WriteError answers a call the way EC2's query protocol reports an error.
// Status 400 is a client error; 503 with RequestLimitExceeded is a
// throttle, which SDK retryers retry.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	apiError{status: status, code: code, message: message}.write(w, EC2Query, "motoproxy")
}

// WriteJSONError answers a call the way the JSON 1.1 protocol (CloudWatch
// Logs) reports an error: {"__type": code, "message": message}.
func WriteJSONError(w http.ResponseWriter, status int, code, message string) {
	apiError{status: status, code: code, message: message}.write(w, AWSJSON, "motoproxy")
}

// apiError is an error code and message with the HTTP status it travels
// with, and for JSON services the protocol version of the body.
type apiError struct {
	status  int
	code    string
	message string
	json10  bool
}

// dynamoDBService is the X-Amz-Target prefix of DynamoDB, which speaks
// JSON 1.0 and qualifies its error types with a namespace.
const dynamoDBService = "DynamoDB_20120810"

// dynamoDBError is DynamoDB's shape of an error: JSON 1.0, the __type
// qualified as com.amazonaws.dynamodb.v20120810#Code (the SDK strips the
// namespace before it classes the code).
func dynamoDBError(status int, code, message string) apiError {
	return apiError{status: status, code: "com.amazonaws.dynamodb.v20120810#" + code, message: message, json10: true}
}

// errorFor is the error a service answers with for kind, in the shape of
// its protocol. service is the X-Amz-Target prefix of JSON services
// (Logs_20140328, AmazonSSM).
func errorFor(kind FaultKind, proto Protocol, service string) apiError {
	switch proto {
	case EC2Query:
		switch kind {
		case Throttle:
			return apiError{status: http.StatusServiceUnavailable, code: "RequestLimitExceeded", message: "Request limit exceeded."}
		case InternalError:
			return apiError{status: http.StatusInternalServerError, code: "InternalError", message: "An internal error has occurred."}
		default:
			return apiError{status: http.StatusServiceUnavailable, code: "Unavailable", message: "The server is overloaded and can't handle the request."}
		}
	case AWSQuery:
		switch kind {
		case Throttle:
			return apiError{status: http.StatusBadRequest, code: "Throttling", message: "Rate exceeded"}
		case InternalError:
			return apiError{status: http.StatusInternalServerError, code: "InternalFailure", message: "An internal error occurred."}
		default:
			return apiError{status: http.StatusServiceUnavailable, code: "ServiceUnavailable", message: "Service is unavailable."}
		}
	}
	if service == dynamoDBService {
		return dynamoDBErrorFor(kind)
	}
	return jsonErrorFor(kind, service)
}

func dynamoDBErrorFor(kind FaultKind) apiError {
	switch kind {
	case Throttle:
		return dynamoDBError(http.StatusBadRequest, "ThrottlingException", "Rate of requests exceeds the allowed throughput.")
	case InternalError:
		return dynamoDBError(http.StatusInternalServerError, "InternalServerError", "Internal server error")
	default:
		return dynamoDBError(http.StatusServiceUnavailable, "ServiceUnavailable", "Service Unavailable")
	}
}

func jsonErrorFor(kind FaultKind, service string) apiError {
	switch kind {
	case Throttle:
		return apiError{status: http.StatusBadRequest, code: "ThrottlingException", message: "Rate exceeded"}
	case InternalError:
		// Each JSON service names its modeled 500 error differently.
		switch service {
		case "Logs_20140328":
			return apiError{status: http.StatusInternalServerError, code: "ServiceUnavailableException", message: "The service cannot complete the request."}
		case "AmazonSSM":
			return apiError{status: http.StatusInternalServerError, code: "InternalServerError", message: "An error occurred on the server side."}
		}
		return apiError{status: http.StatusInternalServerError, code: "InternalFailure", message: "An internal error occurred."}
	default:
		return apiError{status: http.StatusServiceUnavailable, code: "ServiceUnavailable", message: "Service Unavailable"}
	}
}

// write sends e in the shape of proto.
func (e apiError) write(w http.ResponseWriter, proto Protocol, requestID string) {
	var b bytes.Buffer
	switch proto {
	case EC2Query:
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Response><Errors><Error><Code>")
		xmlEscape(&b, e.code)
		b.WriteString("</Code><Message>")
		xmlEscape(&b, e.message)
		b.WriteString("</Message></Error></Errors><RequestID>")
		xmlEscape(&b, requestID)
		b.WriteString("</RequestID></Response>")
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	case AWSQuery:
		typ := "Sender"
		if e.status >= 500 {
			typ = "Receiver"
		}
		b.WriteString(`<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>` + typ + "</Type><Code>")
		xmlEscape(&b, e.code)
		b.WriteString("</Code><Message>")
		xmlEscape(&b, e.message)
		b.WriteString("</Message></Error><RequestId>")
		xmlEscape(&b, requestID)
		b.WriteString("</RequestId></ErrorResponse>")
		w.Header().Set("Content-Type", "text/xml")
		w.Header().Set("X-Amzn-Requestid", requestID)
	default:
		body, _ := json.Marshal(struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}{e.code, e.message})
		b.Write(body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if e.json10 {
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		}
		w.Header().Set("X-Amzn-Requestid", requestID)
	}
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(e.status)
	_, _ = w.Write(b.Bytes())
}

func xmlEscape(b *bytes.Buffer, s string) { _ = xml.EscapeText(b, []byte(s)) }
