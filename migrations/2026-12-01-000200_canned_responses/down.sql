DROP TABLE canned_response_attachments;
DROP TABLE canned_responses;
